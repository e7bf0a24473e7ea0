"""The 2025 CAC grading guide (《网络安全事件分级指南》) as tables.

Each ladder lists one fact's thresholds, highest level first, as the guide's items 1-7
state them. Every threshold is checked on the number ("以上" includes it), one below
and one above.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from incidents.errors import ValidationError
from incidents.grading import (
    DIMENSIONS,
    GRADE_COLOUR,
    GRADE_LEVEL,
    GRADE_NAMES,
    GRADE_RANK,
    GRADES,
    IMPACT_FIELDS,
    Impact,
    Reason,
    Suggestion,
    below_suggestion,
    parse_grade,
    suggest,
)

# The national levels: I 特别重大, II 重大, III 较大, IV 一般.
L_I, L_II, L_III, L_IV = "especially_major", "major", "relatively_major", "general"

CII = {"cii": True}
PROVINCIAL_DEFACED = {"defacement": True, "site_class": "provincial"}

# name, other facts, the fact, dimension, [(boundary, grade reached on it)], highest first
LADDERS: list[tuple[str, dict[str, Any], str, str, list[tuple[float, str]]]] = [
    (
        "cii_whole",
        CII,
        "system_outage_minutes",
        "cii_outage",
        [(360, L_I), (60, L_II), (10, L_III)],
    ),
    (
        "cii_main_function",
        CII,
        "main_function_outage_minutes",
        "cii_outage",
        [(1440, L_I), (180, L_II), (30, L_III)],
    ),
    (
        "provincial_site_outage",
        {"site_class": "provincial"},
        "site_outage_minutes",
        "site_outage",
        [(1440, L_I), (360, L_II), (120, L_III)],
    ),
    (
        "municipal_site_outage",
        {"site_class": "municipal"},
        "site_outage_minutes",
        "site_outage",
        [(360, L_II), (120, L_III)],
    ),
    (
        "people",
        {},
        "people_affected",
        "population",
        [(10_000_000, L_I), (1_000_000, L_II), (100_000, L_III)],
    ),
    ("province_share", {}, "province_population_share", "population", [(50.0, L_I)]),
    ("city_share", {}, "city_population_share", "population", [(50.0, L_II), (30.0, L_III)]),
    (
        "pi_leak",
        {},
        "pi_records_leaked",
        "pi_leak",
        [(100_000_000, L_I), (10_000_000, L_II), (1_000_000, L_III)],
    ),
    (
        "economic_loss",
        {},
        "economic_loss_cny",
        "economic_loss",
        [(100_000_000, L_I), (20_000_000, L_II), (5_000_000, L_III)],
    ),
    (
        "defaced_home_page",
        PROVINCIAL_DEFACED,
        "defacement_home_minutes",
        "defacement",
        [(360, L_I), (120, L_II), (30, L_III)],
    ),
    (
        "defaced_other_pages",
        PROVINCIAL_DEFACED,
        "defacement_other_minutes",
        "defacement",
        [(1440, L_I), (720, L_II), (120, L_III)],
    ),
    (
        "defaced_shares",
        PROVINCIAL_DEFACED,
        "defacement_shares",
        "defacement",
        [(100_000, L_I), (10_000, L_II), (1_000, L_III)],
    ),
    (
        "defaced_views",
        PROVINCIAL_DEFACED,
        "defacement_views",
        "defacement",
        [(1_000_000, L_I), (100_000, L_II), (10_000, L_III)],
    ),
]


def _step(boundary: float) -> float:
    return 0.1 if isinstance(boundary, float) else 1


def _boundary_cases() -> list[Any]:
    """On, one below and one above every threshold; below falls to the next rung."""
    cases = []
    for name, base, fact, _dimension, rungs in LADDERS:
        for index, (boundary, grade) in enumerate(rungs):
            lower = rungs[index + 1][1] if index + 1 < len(rungs) else L_IV
            level = GRADE_LEVEL[grade]
            step = _step(boundary)
            for where, value, expected in (
                ("on", boundary, grade),
                ("below", boundary - step, lower),
                ("above", boundary + step, grade),
            ):
                facts = {**base, fact: value}
                cases.append(pytest.param(facts, expected, id=f"{name}-{level}-{where}"))
    return cases


def _on_cases() -> list[Any]:
    return [
        pytest.param(
            {**base, fact: boundary},
            fact,
            boundary,
            dimension,
            grade,
            id=f"{name}-{GRADE_LEVEL[grade]}",
        )
        for name, base, fact, dimension, rungs in LADDERS
        for boundary, grade in rungs
    ]


def grade_of(**facts: Any) -> str:
    return suggest(Impact(**facts)).grade


@pytest.mark.parametrize(("facts", "expected"), _boundary_cases())
def test_it_grades_each_threshold_on_and_around_its_boundary(
    facts: dict[str, Any], expected: str
) -> None:
    assert suggest(Impact(**facts)).grade == expected


@pytest.mark.parametrize(("facts", "fact", "boundary", "dimension", "grade"), _on_cases())
def test_it_names_the_threshold_met(
    facts: dict[str, Any], fact: str, boundary: float, dimension: str, grade: str
) -> None:
    (reason,) = suggest(Impact(**facts)).reasons
    assert (reason.grade, reason.dimension) == (grade, dimension)
    assert reason.threshold.endswith(f"{fact}>={int(boundary)}")
    assert GRADE_NAMES[grade][0] in reason.zh
    assert f"the {GRADE_NAMES[grade][1]} threshold" in reason.en


def test_it_words_a_reason_with_the_value_and_the_threshold() -> None:
    (reason,) = suggest(Impact(cii=True, system_outage_minutes=400)).reasons
    assert reason == Reason(
        grade=L_I,
        dimension="cii_outage",
        threshold="system_outage_minutes>=360",
        zh="关键信息基础设施整体中断运行 400 分钟，达到特别重大标准（整体中断运行 6 小时以上）",
        en="Critical information infrastructure wholly out of operation for 400 minutes: "
        "meets the especially major threshold (whole-system outage of 6 hours or more)",
    )


def test_it_states_the_site_class_in_a_gated_threshold() -> None:
    (reason,) = suggest(Impact(site_class="municipal", site_outage_minutes=400)).reasons
    assert reason.threshold == "site_class>=municipal & site_outage_minutes>=360"
    assert "地市级以上党政机关、企事业单位门户网站" in reason.zh
    assert "6 小时以上不能访问" in reason.zh


def test_it_writes_large_numbers_as_the_guide_does() -> None:
    (reason,) = suggest(Impact(pi_records_leaked=123_456_789)).reasons
    assert (
        reason.zh
        == "泄露 123,456,789 人的公民个人信息，达到特别重大标准（泄露 1 亿人以上公民个人信息）"
    )
    assert "personal information of 100 million people or more leaked" in reason.en


def test_it_suggests_general_when_no_threshold_is_reached() -> None:
    assert suggest(Impact()) == Suggestion(grade=L_IV, reasons=(), also=())


def test_it_suggests_general_just_under_every_lowest_threshold() -> None:
    impact = Impact(
        cii=True,
        system_outage_minutes=9,
        main_function_outage_minutes=29,
        site_class="provincial",
        site_outage_minutes=119,
        people_affected=99_999,
        province_population_share=49.9,
        city_population_share=29.9,
        pi_records_leaked=999_999,
        economic_loss_cny=4_999_999,
        defacement=True,
        defacement_home_minutes=29,
        defacement_other_minutes=119,
        defacement_shares=999,
        defacement_views=9_999,
    )
    assert suggest(impact).grade == L_IV


# --- gating -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param({"system_outage_minutes": 10_000}, L_IV, id="whole-outage-not-cii"),
        pytest.param({"main_function_outage_minutes": 10_000}, L_IV, id="main-outage-not-cii"),
        pytest.param({"cii": True, "system_outage_minutes": 10_000}, L_I, id="whole-outage-cii"),
    ],
)
def test_it_counts_outage_minutes_only_for_critical_infrastructure(
    facts: dict[str, Any], expected: str
) -> None:
    assert grade_of(**facts) == expected


@pytest.mark.parametrize(
    ("site_class", "minutes", "expected"),
    [
        pytest.param("none", 10_000, L_IV, id="no-site"),
        pytest.param("basic", 10_000, L_IV, id="basic-site-any-outage"),
        pytest.param("municipal", 1440, L_II, id="municipal-site-capped-at-II"),
        pytest.param("provincial", 360, L_II, id="provincial-site-meets-municipal-test-II"),
        pytest.param("provincial", 120, L_III, id="provincial-site-meets-municipal-test-III"),
    ],
)
def test_it_gates_site_outage_by_site_class(site_class: str, minutes: int, expected: str) -> None:
    assert grade_of(site_class=site_class, site_outage_minutes=minutes) == expected


VERY_WIDE_SPREAD = {"defacement_home_minutes": 360}  # level I spread
WIDE_SPREAD = {"defacement_views": 100_000}  # level II spread


@pytest.mark.parametrize(
    ("site_class", "spread", "expected"),
    [
        pytest.param("provincial", VERY_WIDE_SPREAD, L_I, id="provincial-very-wide-I"),
        pytest.param("provincial", WIDE_SPREAD, L_II, id="provincial-wide-only-II"),
        pytest.param("municipal", VERY_WIDE_SPREAD, L_II, id="municipal-capped-at-II"),
        pytest.param("municipal", WIDE_SPREAD, L_II, id="municipal-wide-II"),
        pytest.param("basic", VERY_WIDE_SPREAD, L_III, id="basic-capped-at-III"),
        pytest.param("basic", {"defacement_shares": 1_000}, L_III, id="basic-relatively-wide-III"),
        pytest.param("none", VERY_WIDE_SPREAD, L_IV, id="no-site-class-nothing"),
    ],
)
def test_it_lets_the_site_class_cap_the_defacement_level(
    site_class: str, spread: dict[str, int], expected: str
) -> None:
    assert grade_of(defacement=True, site_class=site_class, **spread) == expected


def test_it_ignores_spread_figures_without_defacement() -> None:
    assert grade_of(site_class="provincial", defacement_views=5_000_000) == L_IV


def test_it_names_the_capped_level_in_a_defacement_reason() -> None:
    impact = Impact(defacement=True, site_class="municipal", defacement_home_minutes=400)
    (reason,) = suggest(impact).reasons
    assert reason.threshold == "site_class>=municipal & defacement_home_minutes>=120"
    assert "“大范围”" in reason.zh


# --- data -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param("none", L_IV, id="none"),
        pytest.param("important", L_III, id="important-data-III"),
        pytest.param("core", L_II, id="core-data-II"),
    ],
)
def test_it_grades_important_and_core_data(data: str, expected: str) -> None:
    assert grade_of(data_involved=data) == expected


@pytest.mark.parametrize("data", ["important", "core"])
def test_it_says_the_data_threat_is_a_judgement(data: str) -> None:
    (reason,) = suggest(Impact(data_involved=data)).reasons
    assert reason.threshold == f"data_involved={data}"
    assert "需研判" in reason.zh
    assert "judgement" in reason.en


# --- population -------------------------------------------------------------------------


def test_it_does_not_read_a_province_share_as_a_city_share() -> None:
    # 40% of a province reaches no province threshold and states no city share.
    assert grade_of(province_population_share=40.0) == L_IV


# --- precedence -------------------------------------------------------------------------


def test_it_suggests_the_highest_level_any_fact_reaches() -> None:
    impact = Impact(people_affected=150_000, pi_records_leaked=20_000_000, economic_loss_cny=1)
    assert suggest(impact).grade == L_II


def test_it_lists_every_fact_at_the_suggested_level_in_the_guides_order() -> None:
    impact = Impact(
        economic_loss_cny=100_000_000,
        pi_records_leaked=100_000_000,
        cii=True,
        system_outage_minutes=360,
        main_function_outage_minutes=1440,
        people_affected=1_000_000,
    )
    suggestion = suggest(impact)
    assert suggestion.grade == L_I
    assert [r.threshold for r in suggestion.reasons] == [
        "system_outage_minutes>=360",
        "main_function_outage_minutes>=1440",
        "pi_records_leaked>=100000000",
        "economic_loss_cny>=100000000",
    ]


def test_it_lists_lower_facts_apart_at_their_highest_level() -> None:
    impact = Impact(
        pi_records_leaked=100_000_000,
        people_affected=1_000_000,
        data_involved="important",
    )
    also = suggest(impact).also
    assert [(r.grade, r.threshold) for r in also] == [
        (L_II, "people_affected>=1000000"),
        (L_III, "data_involved=important"),
    ]


def test_it_gives_one_reason_per_fact_at_its_highest_level() -> None:
    suggestion = suggest(Impact(cii=True, system_outage_minutes=400))
    assert len(suggestion.reasons) == 1
    assert suggestion.also == ()


def test_it_serialises_a_suggestion() -> None:
    suggestion = suggest(Impact(economic_loss_cny=6_000_000, people_affected=100_000))
    assert suggestion.to_dict() == {
        "grade": L_III,
        "reasons": [reason.to_dict() for reason in suggestion.reasons],
        "also": [],
    }
    assert [r.to_dict()["dimension"] for r in suggestion.reasons] == [
        "population",
        "economic_loss",
    ]
    assert set(suggestion.reasons[0].to_dict()) == {"grade", "dimension", "threshold", "zh", "en"}


def test_every_reason_dimension_is_a_known_one() -> None:
    everything = Impact(
        cii=True,
        system_outage_minutes=10,
        site_class="provincial",
        site_outage_minutes=120,
        people_affected=100_000,
        pi_records_leaked=1_000_000,
        data_involved="important",
        economic_loss_cny=5_000_000,
        defacement=True,
        defacement_views=10_000,
    )
    reasons = suggest(everything).reasons
    assert [r.dimension for r in reasons] == list(DIMENSIONS)


# --- the impact record ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"outage": 5}, "impact.outage", id="unknown-key"),
        pytest.param({"cii": 1}, "impact.cii", id="int-for-bool"),
        pytest.param({"cii": "true"}, "impact.cii", id="string-for-bool"),
        pytest.param({"cii": None}, "impact.cii", id="null-for-bool"),
        pytest.param({"people_affected": True}, "impact.people_affected", id="bool-for-int"),
        pytest.param({"people_affected": "5"}, "impact.people_affected", id="string-for-int"),
        pytest.param({"people_affected": 5.0}, "impact.people_affected", id="float-for-int"),
        pytest.param({"people_affected": None}, "impact.people_affected", id="null-for-int"),
        pytest.param({"economic_loss_cny": -1}, "impact.economic_loss_cny", id="negative-int"),
        pytest.param(
            {"city_population_share": "50"}, "impact.city_population_share", id="string-for-float"
        ),
        pytest.param(
            {"city_population_share": False}, "impact.city_population_share", id="bool-for-float"
        ),
        pytest.param(
            {"city_population_share": -0.1}, "impact.city_population_share", id="negative-share"
        ),
        pytest.param(
            {"province_population_share": 100.1},
            "impact.province_population_share",
            id="share-over-100",
        ),
        pytest.param(
            {"province_population_share": math.nan},
            "impact.province_population_share",
            id="nan-share",
        ),
        pytest.param(
            {"province_population_share": math.inf},
            "impact.province_population_share",
            id="infinite-share",
        ),
        pytest.param({"site_class": "national"}, "impact.site_class", id="bad-site-class"),
        pytest.param({"site_class": 3}, "impact.site_class", id="int-for-site-class"),
        pytest.param({"data_involved": "secret"}, "impact.data_involved", id="bad-data-class"),
    ],
)
def test_it_rejects_bad_impact_input_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Impact.from_mapping(data)
    assert caught.value.field == field


def test_it_rejects_an_impact_that_is_not_an_object() -> None:
    with pytest.raises(ValidationError) as caught:
        Impact.from_mapping([("cii", True)])  # type: ignore[arg-type]
    assert caught.value.field == "impact"


def test_it_validates_an_impact_built_directly() -> None:
    with pytest.raises(ValidationError) as caught:
        Impact(site_outage_minutes=-5)
    assert caught.value.field == "impact.site_outage_minutes"


@pytest.mark.parametrize("share", [0, 100, 100.0, 33.3])
def test_it_accepts_shares_from_0_to_100(share: float) -> None:
    impact = Impact.from_mapping({"city_population_share": share})
    assert impact.city_population_share == share


def test_it_stores_an_int_share_as_a_float() -> None:
    value = Impact.from_mapping({"city_population_share": 50}).city_population_share
    assert isinstance(value, float)


def test_it_fills_absent_impact_fields_with_neutral_defaults() -> None:
    assert Impact.from_mapping({}) == Impact()


def test_an_impact_round_trips_through_a_dict() -> None:
    impact = Impact(
        cii=True,
        main_function_outage_minutes=45,
        site_class="municipal",
        city_population_share=31.5,
        data_involved="core",
        defacement=True,
        defacement_views=12,
    )
    assert Impact.from_mapping(impact.to_dict()) == impact


def test_to_dict_names_every_field() -> None:
    assert list(Impact().to_dict()) == [f.name for f in dataclasses.fields(Impact)]


def test_impact_fields_describe_every_field_and_its_default() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Impact)}
    assert list(IMPACT_FIELDS) == list(fields)
    assert {name: spec.default for name, spec in IMPACT_FIELDS.items()} == fields


@pytest.mark.parametrize("name", list(IMPACT_FIELDS))
def test_impact_fields_give_each_field_labels_and_a_kind(name: str) -> None:
    spec = IMPACT_FIELDS[name]
    assert spec.zh
    assert spec.en
    assert spec.kind in {"bool", "int", "float", "enum"}
    assert (spec.kind == "enum") == bool(spec.choices)
    assert set(spec.choice_names) == set(spec.choices)


def test_impact_fields_list_the_enum_choices_mildest_first() -> None:
    assert IMPACT_FIELDS["site_class"].choices == ("none", "basic", "municipal", "provincial")
    assert IMPACT_FIELDS["data_involved"].choices == ("none", "important", "core")


def test_impact_fields_bound_the_shares() -> None:
    spec = IMPACT_FIELDS["province_population_share"]
    assert (spec.kind, spec.minimum, spec.maximum) == ("float", 0, 100)


# --- grades -----------------------------------------------------------------------------


def test_grades_run_from_mildest_to_most_severe() -> None:
    assert GRADES == ("general", "relatively_major", "major", "especially_major")
    assert [GRADE_RANK[g] for g in GRADES] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("grade", "zh", "en", "level", "colour"),
    [
        pytest.param("general", "一般", "general", "IV", "blue", id="IV"),
        pytest.param("relatively_major", "较大", "relatively major", "III", "yellow", id="III"),
        pytest.param("major", "重大", "major", "II", "orange", id="II"),
        pytest.param("especially_major", "特别重大", "especially major", "I", "red", id="I"),
    ],
)
def test_each_grade_has_its_names_level_and_colour(
    grade: str, zh: str, en: str, level: str, colour: str
) -> None:
    assert GRADE_NAMES[grade] == (zh, en)
    assert (GRADE_LEVEL[grade], GRADE_COLOUR[grade]) == (level, colour)


@pytest.mark.parametrize(
    ("chosen", "suggested", "below"),
    [
        pytest.param("general", "relatively_major", True, id="IV-under-III"),
        pytest.param("major", "especially_major", True, id="II-under-I"),
        pytest.param("major", "major", False, id="same"),
        pytest.param("especially_major", "general", False, id="above"),
    ],
)
def test_it_flags_a_chosen_grade_below_the_suggestion(
    chosen: str, suggested: str, below: bool
) -> None:
    assert below_suggestion(chosen, suggested) is below


@pytest.mark.parametrize(
    ("chosen", "suggested", "field"),
    [
        pytest.param("severe", "major", "grade", id="chosen"),
        pytest.param("major", "III", "suggested", id="suggested"),
    ],
)
def test_it_refuses_to_compare_an_unknown_grade(chosen: str, suggested: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        below_suggestion(chosen, suggested)
    assert caught.value.field == field


def test_parse_grade_accepts_a_grade_and_names_the_field_otherwise() -> None:
    assert parse_grade("major") == "major"
    with pytest.raises(ValidationError) as caught:
        parse_grade(2, field="incident.grade")
    assert caught.value.field == "incident.grade"
