"""Article 5 as a table: each row names the clause it proves.

Facts not named in a row take their defaults: no incident, reported as required, rules
implemented, handled promptly, no impact, full cooperation, nothing concealed or
destroyed, no prior sanctions, no exemption.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from accountability.clauses import EXEMPTION_TEXT, UNCOVERED_NOTE
from accountability.rules import (
    CLAUSE_TEXT,
    FACT_KEYS,
    GRADES,
    RULE_VERSION,
    SANCTION_DECIDER,
    SANCTIONS,
    TIER_SANCTIONS,
    InvalidFacts,
    assess,
    is_milder_than_allowed,
)
from incidents.errors import ValidationError

MAJOR_LATE: dict[str, object] = {"grade": "major", "handled_promptly": False}
ESPECIALLY_MAJOR_LATE: dict[str, object] = {"grade": "especially_major", "handled_promptly": False}


def row(
    row_id: str,
    facts: dict[str, object],
    clauses: tuple[str, ...],
    *,
    tier: int,
    waived: tuple[str, ...] = (),
    exemption: str | None = None,
) -> Any:
    return pytest.param(facts, clauses, tier, waived, exemption, id=row_id)


CLAUSE_ROWS = [
    # 5.1(a)
    row("5.1(a) general not reported", {"grade": "general", "reported_as_required": False},
        ("5.1(a)",), tier=1),
    row("5.1(a) relatively major not reported",
        {"grade": "relatively_major", "reported_as_required": False}, ("5.1(a)",), tier=1),
    row("5.1(a) near-miss general reported", {"grade": "general"}, (), tier=0),
    # 5.1(b)
    row("5.1(b) rules not implemented no incident", {"rules_implemented": False},
        ("5.1(b)",), tier=1),
    row("5.1(b) rules not implemented incident had another cause",
        {"grade": "general", "rules_implemented": False}, ("5.1(b)",), tier=1),
    row("5.1(b) near-miss rules implemented", {}, (), tier=0),
    row("5.1(b) near-miss non-compliance led to the incident is 5.2(b)",
        {"grade": "general", "rules_implemented": False, "noncompliance_led_to_incident": True},
        ("5.2(b)",), tier=2),
    # 5.1(c)
    row("5.1(c) major poor cooperation", {**MAJOR_LATE, "cooperation": "poor"},
        ("5.1(c)",), tier=1),
    row("5.1(c) major refused cooperation is at least poor",
        {**MAJOR_LATE, "cooperation": "refused"}, ("5.1(c)",), tier=1),
    row("5.1(c) near-miss major full cooperation", MAJOR_LATE, (), tier=0),
    row("5.1(c) near-miss relatively major poor cooperation",
        {"grade": "relatively_major", "cooperation": "poor"}, (), tier=0),
    # 5.2(a)
    row("5.2(a) major not reported", {**MAJOR_LATE, "reported_as_required": False},
        ("5.2(a)",), tier=2),
    row("5.2(a) near-miss especially major not reported is 5.3(a)",
        {**ESPECIALLY_MAJOR_LATE, "reported_as_required": False}, ("5.3(a)",), tier=3),
    row("5.2(a) near-miss relatively major not reported is 5.1(a)",
        {"grade": "relatively_major", "reported_as_required": False}, ("5.1(a)",), tier=1),
    # 5.2(b)
    row("5.2(b) non-compliance led to a general incident",
        {"grade": "general", "rules_implemented": False, "noncompliance_led_to_incident": True},
        ("5.2(b)",), tier=2),
    row("5.2(b) non-compliance led to a relatively major incident",
        {"grade": "relatively_major", "rules_implemented": False,
         "noncompliance_led_to_incident": True}, ("5.2(b)",), tier=2),
    row("5.2(b) near-miss non-compliance led to a major incident handled promptly is 5.2(c)",
        {"grade": "major", "rules_implemented": False, "noncompliance_led_to_incident": True},
        ("5.2(c)",), tier=2),
    # 5.2(c)
    row("5.2(c) major handled promptly no impact", {"grade": "major"}, ("5.2(c)",), tier=2),
    row("5.2(c) especially major handled promptly no impact", {"grade": "especially_major"},
        ("5.2(c)",), tier=2),
    row("5.2(c) near-miss major handled promptly some impact",
        {"grade": "major", "impact": "some"}, (), tier=0),
    row("5.2(c) near-miss major handled late no impact", MAJOR_LATE, (), tier=0),
    row("5.2(c) near-miss relatively major handled promptly", {"grade": "relatively_major"},
        (), tier=0),
    # 5.2(d)
    row("5.2(d) repeat non-compliance without an incident",
        {"rules_implemented": False, "prior_sanctions": 1}, ("5.1(b)", "5.2(d)"), tier=2),
    row("5.2(d) repeat non-compliance that led to a general incident",
        {"grade": "general", "rules_implemented": False, "noncompliance_led_to_incident": True,
         "prior_sanctions": 2}, ("5.2(b)", "5.2(d)"), tier=2),
    row("5.2(d) near-miss first non-compliance is 5.1(b)",
        {"rules_implemented": False, "prior_sanctions": 0}, ("5.1(b)",), tier=1),
    row("5.2(d) near-miss prior sanctions but rules implemented", {"prior_sanctions": 3},
        (), tier=0),
    # 5.2(e)
    row("5.2(e) especially major poor cooperation",
        {**ESPECIALLY_MAJOR_LATE, "cooperation": "poor"}, ("5.2(e)",), tier=2),
    row("5.2(e) near-miss especially major refused is 5.3(c) only",
        {**ESPECIALLY_MAJOR_LATE, "cooperation": "refused"}, ("5.3(c)",), tier=3),
    row("5.2(e) near-miss major poor cooperation is 5.1(c)",
        {**MAJOR_LATE, "cooperation": "poor"}, ("5.1(c)",), tier=1),
    # 5.3(a)
    row("5.3(a) especially major not reported",
        {**ESPECIALLY_MAJOR_LATE, "reported_as_required": False}, ("5.3(a)",), tier=3),
    row("5.3(a) near-miss especially major reported", ESPECIALLY_MAJOR_LATE, (), tier=0),
    # 5.3(b)
    row("5.3(b) major handled late some impact", {**MAJOR_LATE, "impact": "some"},
        ("5.3(b)",), tier=3),
    row("5.3(b) especially major handled late bad impact",
        {**ESPECIALLY_MAJOR_LATE, "impact": "bad"}, ("5.3(b)",), tier=3),
    row("5.3(b) major handled late serious impact", {**MAJOR_LATE, "impact": "serious"},
        ("5.3(b)",), tier=3),
    row("5.3(b) near-miss major handled promptly some impact",
        {"grade": "major", "impact": "some"}, (), tier=0),
    row("5.3(b) near-miss relatively major handled late some impact",
        {"grade": "relatively_major", "handled_promptly": False, "impact": "some"}, (), tier=0),
    # 5.3(c)
    row("5.3(c) especially major refused cooperation",
        {**ESPECIALLY_MAJOR_LATE, "cooperation": "refused"}, ("5.3(c)",), tier=3),
    row("5.3(c) near-miss major refused is 5.1(c)", {**MAJOR_LATE, "cooperation": "refused"},
        ("5.1(c)",), tier=1),
    # 5.4(a)
    # A concealed or false report is not reported as required: 5.2(a)/5.3(a) beside 5.4(a).
    row("5.4(a) major serious consequences concealed",
        {"grade": "major", "impact": "serious", "concealed_or_false_report": True},
        ("5.2(a)", "5.4(a)"), tier=4),
    row("5.4(a) especially major serious consequences falsely reported and handled late",
        {**ESPECIALLY_MAJOR_LATE, "impact": "serious", "concealed_or_false_report": True},
        ("5.3(a)", "5.3(b)", "5.4(a)"), tier=4),
    row("5.4(a) near-miss bad impact concealed is 5.2(a)",
        {"grade": "major", "impact": "bad", "concealed_or_false_report": True},
        ("5.2(a)",), tier=2),
    row("5.4(a) near-miss serious consequences not concealed",
        {"grade": "major", "impact": "serious"}, (), tier=0),
    row("5.4(a) near-miss relatively major serious consequences concealed is 5.1(a)",
        {"grade": "relatively_major", "impact": "serious", "concealed_or_false_report": True},
        ("5.1(a)",), tier=1),
    # 5.4(b)
    row("5.4(b) non-compliance led to a major incident handled late bad impact",
        {**MAJOR_LATE, "rules_implemented": False, "noncompliance_led_to_incident": True,
         "impact": "bad"}, ("5.3(b)", "5.4(b)"), tier=4),
    row("5.4(b) near-miss some impact is 5.3(b)",
        {**MAJOR_LATE, "rules_implemented": False, "noncompliance_led_to_incident": True,
         "impact": "some"}, ("5.3(b)",), tier=3),
    row("5.4(b) near-miss another cause is 5.1(b) and 5.3(b)",
        {**MAJOR_LATE, "rules_implemented": False, "impact": "bad"},
        ("5.1(b)", "5.3(b)"), tier=3),
    row("5.4(b) near-miss handled promptly",
        {"grade": "major", "rules_implemented": False, "noncompliance_led_to_incident": True,
         "impact": "bad"}, (), tier=0),
    # 5.4(c)
    row("5.4(c) evidence destroyed after a general incident",
        {"grade": "general", "evidence_destroyed_or_falsified": True}, ("5.4(c)",), tier=4),
    # 5.4 closing sentence: the pursuer is accountable (circulated criticism)
    row("5.4(closing) the pursuer closed a case perfunctorily",
        {"grade": "general", "perfunctory_closure": True}, ("5.4(closing)",), tier=2),
    row("5.4(closing) is conduct and no exemption waives it",
        {"grade": "major", "perfunctory_closure": True, "force_majeure": True},
        ("5.4(closing)",), tier=2, waived=("5.2(c)",), exemption="5.5(a)"),
    # 5.5(a): waives occurrence and consequences, never conduct
    row("5.5(a) waives 5.3(b) late handling with some impact",
        {**MAJOR_LATE, "impact": "some", "force_majeure": True}, (), tier=0,
        waived=("5.3(b)",), exemption="5.5(a)"),
    row("5.5(a) keeps 5.1(a) missed report",
        {"grade": "general", "reported_as_required": False, "force_majeure": True},
        ("5.1(a)",), tier=1, exemption="5.5(a)"),
    row("5.5(a) keeps 5.4(c) destroyed evidence and waives 5.3(b)",
        {**MAJOR_LATE, "impact": "bad", "evidence_destroyed_or_falsified": True,
         "force_majeure": True}, ("5.4(c)",), tier=4, waived=("5.3(b)",), exemption="5.5(a)"),
    row("5.5(a) keeps 5.1(b) and 5.2(d) non-compliance",
        {"grade": "general", "rules_implemented": False, "prior_sanctions": 1,
         "force_majeure": True}, ("5.1(b)", "5.2(d)"), tier=2, exemption="5.5(a)"),
    # 5.5(b)
    row("5.5(b) waives 5.2(c) major handled promptly",
        {"grade": "major", "full_compliance_proven": True}, (), tier=0,
        waived=("5.2(c)",), exemption="5.5(b)"),
    row("5.5(b) waives 5.3(b) late handling with some impact",
        {**ESPECIALLY_MAJOR_LATE, "impact": "some", "full_compliance_proven": True}, (),
        tier=0, waived=("5.3(b)",), exemption="5.5(b)"),
    row("5.5(b) keeps 5.3(c) refused cooperation and waives 5.2(c)",
        {"grade": "especially_major", "cooperation": "refused", "full_compliance_proven": True},
        ("5.3(c)",), tier=3, waived=("5.2(c)",), exemption="5.5(b)"),
    row("5.5(b) keeps 5.4(a) concealment",
        {"grade": "major", "impact": "serious", "concealed_or_false_report": True,
         "full_compliance_proven": True}, ("5.2(a)", "5.4(a)"), tier=4, exemption="5.5(b)"),
    row("5.5(b) keeps 5.2(a) missed report and waives 5.2(c)",
        {"grade": "major", "reported_as_required": False, "full_compliance_proven": True},
        ("5.2(a)",), tier=2, waived=("5.2(c)",), exemption="5.5(b)"),
    row("5.5(a) comes before 5.5(b)",
        {"grade": "major", "force_majeure": True, "full_compliance_proven": True}, (), tier=0,
        waived=("5.2(c)",), exemption="5.5(a)"),
    # Combinations: every matching clause is listed, the highest tier wins
    row("5.1(a) and 5.4(c) highest tier wins",
        {"grade": "general", "reported_as_required": False,
         "evidence_destroyed_or_falsified": True}, ("5.1(a)", "5.4(c)"), tier=4),
    row("5.2(a) and 5.2(c) major unreported but handled promptly",
        {"grade": "major", "reported_as_required": False}, ("5.2(a)", "5.2(c)"), tier=2),
    row("5.1(c) and 5.2(a) major unreported with poor cooperation",
        {**MAJOR_LATE, "reported_as_required": False, "cooperation": "poor"},
        ("5.1(c)", "5.2(a)"), tier=2),
    row("5.2(d) 5.3(a) 5.3(b) 5.3(c) 5.4(a) 5.4(b) 5.4(c) everything went wrong",
        {**ESPECIALLY_MAJOR_LATE, "reported_as_required": False, "rules_implemented": False,
         "noncompliance_led_to_incident": True, "impact": "serious", "cooperation": "refused",
         "concealed_or_false_report": True, "evidence_destroyed_or_falsified": True,
         "prior_sanctions": 1},
        ("5.2(d)", "5.3(a)", "5.3(b)", "5.3(c)", "5.4(a)", "5.4(b)", "5.4(c)"), tier=4),
]  # fmt: skip


@pytest.mark.parametrize(("facts", "clauses", "tier", "waived", "exemption"), CLAUSE_ROWS)
def test_it_matches_exactly_the_clauses_the_rules_name(
    facts: dict[str, object],
    clauses: tuple[str, ...],
    tier: int,
    waived: tuple[str, ...],
    exemption: str | None,
) -> None:
    result = assess(facts)
    assert (result.clause_ids, result.tier, result.waived_ids, result.exemption) == (
        clauses,
        tier,
        waived,
        exemption,
    )


def test_the_table_proves_every_clause() -> None:
    proved = {clause for param in CLAUSE_ROWS for clause in param.values[1]}
    assert proved == set(CLAUSE_TEXT)


def invalid(row_id: str, facts: object, field: str) -> Any:
    return pytest.param(facts, field, id=row_id)


BOOL_KEYS = [key for key in FACT_KEYS if isinstance(assess({}).facts[key], bool)]
# The type checks run with an incident, so that no contradiction hides a type error.


INVALID_ROWS = [
    invalid("facts that are not an object", ["grade", "major"], "facts"),
    invalid("unknown key", {"grade": "major", "severity": "high"}, "severity"),
    invalid("unknown non-text key", {1: True}, "1"),
    invalid("grade as a number", {"grade": 2}, "grade"),
    invalid("grade unknown", {"grade": "minor"}, "grade"),
    invalid("grade in the wrong case", {"grade": "Major"}, "grade"),
    invalid("grade empty", {"grade": ""}, "grade"),
    *[invalid(f"{key} 1 is not a bool", {"grade": "general", key: 1}, key)
      for key in BOOL_KEYS],
    *[invalid(f"{key} 'false' is not a bool", {"grade": "general", key: "false"}, key)
      for key in BOOL_KEYS],
    *[invalid(f"{key} null is not a bool", {"grade": "general", key: None}, key)
      for key in BOOL_KEYS],
    invalid("prior_sanctions true is not an int", {"prior_sanctions": True}, "prior_sanctions"),
    invalid("prior_sanctions 1.0 is not an int", {"prior_sanctions": 1.0}, "prior_sanctions"),
    invalid("prior_sanctions text", {"prior_sanctions": "1"}, "prior_sanctions"),
    invalid("prior_sanctions null", {"prior_sanctions": None}, "prior_sanctions"),
    invalid("prior_sanctions negative", {"prior_sanctions": -1}, "prior_sanctions"),
    invalid("impact unknown", {"grade": "major", "impact": "severe"}, "impact"),
    invalid("impact null", {"grade": "major", "impact": None}, "impact"),
    invalid("impact as a number", {"grade": "major", "impact": 2}, "impact"),
    invalid("cooperation unknown", {"cooperation": "none"}, "cooperation"),
    invalid("cooperation as a bool", {"cooperation": False}, "cooperation"),
    invalid("full compliance proven with rules not implemented",
            {"grade": "major", "rules_implemented": False, "full_compliance_proven": True},
            "full_compliance_proven"),
    invalid("non-compliance led to an incident without an incident",
            {"rules_implemented": False, "noncompliance_led_to_incident": True},
            "noncompliance_led_to_incident"),
    invalid("non-compliance led to an incident with the rules implemented",
            {"grade": "general", "noncompliance_led_to_incident": True},
            "noncompliance_led_to_incident"),
    invalid("impact some without an incident", {"impact": "some"}, "impact"),
    invalid("not reported without an incident", {"reported_as_required": False},
            "reported_as_required"),
    invalid("concealed without an incident", {"concealed_or_false_report": True},
            "concealed_or_false_report"),
    invalid("poor cooperation without an incident", {"cooperation": "poor"}, "cooperation"),
    invalid("refused cooperation without an incident", {"cooperation": "refused"},
            "cooperation"),
    invalid("evidence destroyed without an incident",
            {"evidence_destroyed_or_falsified": True}, "evidence_destroyed_or_falsified"),
    invalid("force majeure without an incident", {"force_majeure": True}, "force_majeure"),
    invalid("full compliance proven without an incident", {"full_compliance_proven": True},
            "full_compliance_proven"),
    invalid("force majeure beside non-compliance that led to the incident",
            {"grade": "general", "rules_implemented": False,
             "noncompliance_led_to_incident": True, "force_majeure": True}, "force_majeure"),
    invalid("force majeure beside non-compliance that led to a major incident handled late",
            {**MAJOR_LATE, "rules_implemented": False, "noncompliance_led_to_incident": True,
             "impact": "bad", "force_majeure": True}, "force_majeure"),
    invalid("impact serious without an incident", {"impact": "serious"}, "impact"),
]  # fmt: skip


@pytest.mark.parametrize(("facts", "field"), INVALID_ROWS)
def test_it_refuses_invalid_facts_naming_the_field(facts: object, field: str) -> None:
    with pytest.raises(InvalidFacts) as caught:
        assess(cast(Any, facts))
    assert caught.value.field == field
    assert caught.value.message


def test_invalid_facts_render_as_a_422_validation_error() -> None:
    with pytest.raises(ValueError, match="severity") as caught:
        assess({"severity": "high"})
    error = caught.value
    assert isinstance(error, ValidationError)
    assert error.status == 422
    assert error.to_dict()["field"] == "severity"


def test_it_fills_in_the_defaults() -> None:
    assert assess({}).facts == {
        "grade": None,
        "reported_as_required": True,
        "rules_implemented": True,
        "noncompliance_led_to_incident": False,
        "handled_promptly": True,
        "impact": "none",
        "cooperation": "full",
        "concealed_or_false_report": False,
        "evidence_destroyed_or_falsified": False,
        "prior_sanctions": 0,
        "force_majeure": False,
        "full_compliance_proven": False,
        "perfunctory_closure": False,
    }


def test_it_accepts_every_grade_and_null() -> None:
    assert [assess({"grade": grade}).facts["grade"] for grade in (None, *GRADES)] == [
        None,
        *GRADES,
    ]


def test_it_leaves_the_facts_it_was_given_alone() -> None:
    facts: dict[str, object] = {"grade": "major", "impact": "some"}
    assess(facts)
    assert facts == {"grade": "major", "impact": "some"}


def test_it_calls_a_major_incident_handled_promptly_with_some_impact_uncovered() -> None:
    result = assess({"grade": "major", "handled_promptly": True, "impact": "some"})
    assert (result.tier, result.clauses, result.uncovered) == (0, (), True)
    assert result.sanctions == ()
    assert result.to_dict()["note"] == {"zh": UNCOVERED_NOTE[0], "en": UNCOVERED_NOTE[1]}


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param({}, id="no incident and nothing found"),
        pytest.param({"grade": "major"}, id="an incident that matched 5.2(c)"),
        pytest.param({"grade": "major", "force_majeure": True}, id="an incident exempt by 5.5(a)"),
        pytest.param(
            {"grade": "general", "full_compliance_proven": True}, id="exempt with nothing matched"
        ),
    ],
)
def test_it_calls_nothing_else_uncovered(facts: dict[str, object]) -> None:
    result = assess(facts)
    assert result.uncovered is False
    assert result.to_dict()["note"] is None


@pytest.mark.parametrize(
    ("cooperation", "expected"),
    [
        pytest.param("poor", ("5.1(c)",), id="5.1(c) major poor"),
        pytest.param("refused", ("5.1(c)",), id="5.1(c) major refused implies poor"),
    ],
)
def test_refusal_counts_as_poor_cooperation_after_a_major_incident(
    cooperation: str, expected: tuple[str, ...]
) -> None:
    assert assess({**MAJOR_LATE, "cooperation": cooperation}).clause_ids == expected


@pytest.mark.parametrize(
    ("cooperation", "expected"),
    [
        pytest.param("full", (), id="especially major full"),
        pytest.param("poor", ("5.2(e)",), id="5.2(e) only for poor"),
        pytest.param("refused", ("5.3(c)",), id="5.3(c) only for refused"),
    ],
)
def test_poor_and_refused_cooperation_are_distinct_after_an_especially_major_incident(
    cooperation: str, expected: tuple[str, ...]
) -> None:
    assert assess({**ESPECIALLY_MAJOR_LATE, "cooperation": cooperation}).clause_ids == expected


@pytest.mark.parametrize(
    ("facts", "tier", "codes"),
    [
        pytest.param({}, 0, (), id="tier 0 allows nothing"),
        pytest.param({"rules_implemented": False}, 1,
                     ("criticism_education", "written_self_criticism"), id="tier 1 5.1(b)"),
        pytest.param({"grade": "major"}, 2,
                     ("written_self_criticism", "circulated_criticism"), id="tier 2 5.2(c)"),
        pytest.param({**MAJOR_LATE, "impact": "some"}, 3,
                     ("circulated_criticism", "general_handling"), id="tier 3 5.3(b)"),
        pytest.param({"grade": "general", "evidence_destroyed_or_falsified": True}, 4,
                     ("serious_handling",), id="tier 4 5.4(c) serious handling always"),
    ],
)  # fmt: skip
def test_it_offers_the_sanctions_the_tier_allows(
    facts: dict[str, object], tier: int, codes: tuple[str, ...]
) -> None:
    result = assess(facts)
    assert result.tier == tier
    assert tuple(option.code for option in result.sanctions) == codes


@pytest.mark.parametrize(
    ("code", "clause", "decided_by"),
    [
        ("criticism_education", "6(1)", "leading_group"),
        ("written_self_criticism", "6(1)", "leading_group"),
        ("circulated_criticism", "6(1)", "leading_group"),
        ("general_handling", "6(2)", "joint_decision_then_leading_group_approval"),
        ("serious_handling", "6(2)", "joint_decision_then_leading_group_approval"),
    ],
)
def test_it_says_who_decides_each_sanction_under_article_6(
    code: str, clause: str, decided_by: str
) -> None:
    tier = next(tier for tier, codes in TIER_SANCTIONS.items() if code in codes)
    option = next(o for o in assess(_facts_for_tier(tier)).sanctions if o.code == code)
    assert (option.clause, option.decided_by) == (clause, decided_by)
    assert SANCTION_DECIDER[code] == clause
    assert (option.zh, option.en) == SANCTIONS[code]


def _facts_for_tier(tier: int) -> dict[str, object]:
    facts_by_tier: dict[int, dict[str, object]] = {
        1: {"rules_implemented": False},
        2: {"grade": "major"},
        3: {**MAJOR_LATE, "impact": "some"},
        4: {"grade": "general", "evidence_destroyed_or_falsified": True},
    }
    return facts_by_tier[tier]


def test_5_4_police_referral_comes_beside_serious_handling_where_very_serious() -> None:
    """严肃处理,情况十分严重者应报警处理: the referral is in addition, never instead."""
    data = assess({"grade": "general", "evidence_destroyed_or_falsified": True}).to_dict()
    assert [option["code"] for option in cast(list[dict[str, object]], data["sanctions"])] == [
        "serious_handling"
    ]
    assert data["police_referral"] == {
        "code": "police_referral",
        "zh": "报警处理",
        "en": "referral to the police",
        "in_addition_to": "serious_handling",
        "condition": {"zh": "情况十分严重者", "en": "where very serious"},
    }
    assert SANCTION_DECIDER["police_referral"] == "6(2)"
    assert (
        assess({"grade": "major", "reported_as_required": False}).to_dict()["police_referral"]
        is None
    )


def test_sanctions_are_ordered_mildest_first() -> None:
    assert list(SANCTIONS) == [
        "criticism_education",
        "written_self_criticism",
        "circulated_criticism",
        "general_handling",
        "serious_handling",
        "police_referral",
    ]


def test_each_clause_carries_the_original_chinese_and_the_english() -> None:
    result = assess({"grade": "major", "reported_as_required": False})
    assert [(c.id, c.tier, c.zh, c.en) for c in result.clauses] == [
        (
            "5.2(a)",
            2,
            "发生重大安全事件,未按要求上报的",
            "a major incident occurred and was not reported as required",
        ),
        (
            "5.2(c)",
            2,
            "发生重大或特别重大安全事件,且发生安全事件后处理及时,未对医院财产或声誉造成影响的",
            "a major or especially major incident occurred, was handled promptly, and caused "
            "no impact on the organisation's property or reputation",
        ),
    ]


def test_each_clause_sits_in_the_tier_of_its_paragraph() -> None:
    paragraphs = {c: t for c, (t, _zh, _en) in CLAUSE_TEXT.items() if c != "5.4(closing)"}
    assert paragraphs == {clause_id: int(clause_id[2]) for clause_id in paragraphs}
    # The closing sentence names 通报批评 alone: the lowest tier that allows it.
    assert CLAUSE_TEXT["5.4(closing)"][0] == 2


def test_5_4_closing_allows_circulated_criticism_alone() -> None:
    """对应追究责任主体责任而敷衍结案、弄虚作假的,应当对责任追究主体通报批评."""
    alone = assess({"grade": "general", "perfunctory_closure": True})
    assert [o.code for o in alone.sanctions] == ["circulated_criticism"]
    beside = assess({"grade": "major", "reported_as_required": False, "perfunctory_closure": True})
    assert [o.code for o in beside.sanctions] == ["written_self_criticism", "circulated_criticism"]


def test_waived_clauses_and_the_exemption_carry_their_text() -> None:
    data = assess({"grade": "major", "force_majeure": True}).to_dict()
    tier, zh, en = CLAUSE_TEXT["5.2(c)"]
    assert data["waived"] == [{"id": "5.2(c)", "tier": tier, "zh": zh, "en": en}]
    zh, en = EXEMPTION_TEXT["5.5(a)"]
    assert data["exemption"] == {"id": "5.5(a)", "zh": zh, "en": en}


def test_to_dict_is_plain_json_that_round_trips() -> None:
    data = assess({**MAJOR_LATE, "impact": "bad", "cooperation": "refused"}).to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_to_dict_is_stable_whatever_order_the_facts_come_in() -> None:
    forward = {"grade": "general", "reported_as_required": False, "prior_sanctions": 1}
    backward = dict(reversed(list(forward.items())))
    assert json.dumps(assess(forward).to_dict()) == json.dumps(assess(backward).to_dict())
    facts = cast(dict[str, object], assess(backward).to_dict()["facts"])
    assert list(facts) == list(FACT_KEYS)


def test_to_dict_gives_the_documented_shape() -> None:
    assert assess({"grade": "general", "reported_as_required": False}).to_dict() == {
        "tier": 1,
        "clauses": [
            {
                "id": "5.1(a)",
                "tier": 1,
                "zh": "发生一般或较大安全事件,未按要求上报的",
                "en": "a general or relatively major incident occurred and was not reported "
                "as required",
            }
        ],
        "waived": [],
        "exemption": None,
        "sanctions": [
            {
                "code": "criticism_education",
                "zh": "批评教育",
                "en": "criticism and education",
                "decided_by": "leading_group",
                "clause": "6(1)",
                "condition": None,
            },
            {
                "code": "written_self_criticism",
                "zh": "书面检查",
                "en": "written self-criticism",
                "decided_by": "leading_group",
                "clause": "6(1)",
                "condition": None,
            },
        ],
        "facts": {**assess({}).facts, "grade": "general", "reported_as_required": False},
        "rule_version": RULE_VERSION,
        "uncovered": False,
        "note": None,
        "presumed": [],
        "police_referral": None,
    }


@pytest.mark.parametrize(
    ("tier", "sanction", "milder"),
    [
        pytest.param(0, None, False, id="tier 0 no sanction is never milder"),
        pytest.param(0, "criticism_education", False, id="tier 0 any sanction"),
        pytest.param(1, None, True, id="tier 1 no sanction"),
        pytest.param(1, "criticism_education", False, id="tier 1 mildest allowed"),
        pytest.param(1, "serious_handling", False, id="tier 1 harsher is not milder"),
        pytest.param(2, "criticism_education", True, id="tier 2 criticism and education"),
        pytest.param(2, "written_self_criticism", False, id="tier 2 mildest allowed"),
        pytest.param(3, "written_self_criticism", True, id="tier 3 written self-criticism"),
        pytest.param(3, "circulated_criticism", False, id="tier 3 mildest allowed"),
        pytest.param(4, None, True, id="tier 4 no sanction"),
        pytest.param(4, "general_handling", True, id="tier 4 general handling"),
        pytest.param(4, "serious_handling", False, id="tier 4 mildest allowed"),
        pytest.param(4, "police_referral", False, id="tier 4 police referral"),
    ],
)
def test_it_tells_a_sanction_milder_than_the_tier_allows(
    tier: int, sanction: str | None, milder: bool
) -> None:
    assert is_milder_than_allowed(tier, sanction) is milder


@pytest.mark.parametrize(
    ("tier", "sanction", "field"),
    [
        pytest.param(5, None, "tier", id="tier 5"),
        pytest.param(-1, None, "tier", id="tier -1"),
        pytest.param(2, "reprimand", "sanction", id="unknown sanction"),
    ],
)
def test_it_refuses_an_unknown_tier_or_sanction(
    tier: int, sanction: str | None, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        is_milder_than_allowed(tier, sanction)
    assert caught.value.field == field
