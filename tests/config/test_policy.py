"""The policy file: the default deadlines and chains, and every way a policy is refused."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from config.policy import (
    DEFAULT_POLICY_PATH,
    GRADES,
    ChainStep,
    GradePolicy,
    ObligationSpec,
    Policy,
    PolicyError,
    format_duration,
    load_policy,
    parse_duration,
    parse_policy,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
REPORTABLE = ("relatively_major", "major", "especially_major")
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def default_dict() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def refused(change: Callable[[dict[str, Any]], object]) -> PolicyError:
    """Apply ``change`` to a copy of the default policy and return the error it causes."""
    data = copy.deepcopy(default_dict())
    change(data)
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    return caught.value


def obligation(policy: Policy, grade: str, name: str) -> ObligationSpec:
    return next(o for o in policy.grade(grade).obligations if o.name == name)


# --- the defaults ------------------------------------------------------------------


def test_it_loads_the_packaged_default_when_no_path_is_given(policy: Policy) -> None:
    assert policy == load_policy(DEFAULT_POLICY_PATH)


def test_it_reports_as_a_local_bureau_in_shanghai_time_by_default(policy: Policy) -> None:
    assert policy.reporter_category == "local"
    assert policy.tz.key == "Asia/Shanghai"


def test_it_defines_all_four_grades(policy: Policy) -> None:
    assert tuple(policy.grades) == GRADES


@pytest.mark.parametrize("grade", REPORTABLE)
@pytest.mark.parametrize(("category", "hours"), [("cii", 1), ("central", 2), ("local", 4)])
def test_it_owes_the_external_report_by_reporter_category_art_4(
    policy: Policy, grade: str, category: str, hours: int
) -> None:
    external = obligation(policy, grade, "external")
    assert (external.to, external.start) == ("cac", "detected")
    assert external.window(category) == timedelta(hours=hours)


def test_it_owes_no_external_or_final_report_for_a_general_incident(policy: Policy) -> None:
    assert [o.name for o in policy.grade("general").obligations] == ["internal"]


@pytest.mark.parametrize(
    ("grade", "window"),
    [("general", 24 * H), ("relatively_major", 2 * H), ("major", H), ("especially_major", 30 * M)],
)
def test_it_owes_the_internal_report_to_the_leadership(
    policy: Policy, grade: str, window: timedelta
) -> None:
    internal = obligation(policy, grade, "internal")
    assert (internal.to, internal.start) == ("leading_group", "detected")
    assert internal.window(policy.reporter_category) == window


@pytest.mark.parametrize("grade", REPORTABLE)
def test_it_owes_the_final_report_within_thirty_days_of_resolution_art_8(
    policy: Policy, grade: str
) -> None:
    final = obligation(policy, grade, "final")
    assert (final.to, final.start, final.within) == ("cac", "resolved", timedelta(days=30))


@pytest.mark.parametrize(
    ("grade", "target"),
    [
        ("general", 72 * H),
        ("relatively_major", 24 * H),
        ("major", 12 * H),
        ("especially_major", 6 * H),
    ],
)
def test_it_sets_the_handling_target_per_grade(
    policy: Policy, grade: str, target: timedelta
) -> None:
    assert policy.grade(grade).handling_target == target


def test_it_titles_every_default_obligation_in_both_languages(policy: Policy) -> None:
    for grade in policy.grades.values():
        for o in grade.obligations:
            assert o.title_zh != o.name
            assert o.title_en != o.name


def test_it_informs_the_director_and_3_2_at_once_for_an_especially_major_incident(
    policy: Policy,
) -> None:
    at_once = [s for s in policy.grade("especially_major").chain if s.after == timedelta(0)]
    informs = [s for s in at_once if s.informs]
    assert [s.notify for s in informs] == [
        ("director", "deputy_director_netsec", "on_duty:duty_leader")
    ]
    assert informs[0].until == "confirmed"


def test_a_major_incident_informs_3_2_at_once_the_director_at_ten_minutes_and_the_group_at_30(
    policy: Policy,
) -> None:
    chain = policy.grade("major").chain
    informs = [(s.after, s.notify) for s in chain if s.informs]
    assert informs == [
        (timedelta(0), ("deputy_director_netsec", "on_duty:duty_leader")),
        (10 * M, ("director",)),
        (30 * M, ("leading_group_member", "leading_group_office")),
    ]
    pages = [(s.after, s.notify) for s in chain if not s.informs]
    assert pages == [
        (timedelta(0), ("on_duty:duty_officer", "command_center_head")),
        (15 * M, ("deputy_director_netsec",)),
    ]
    assert chain[2].offsets() == (10 * M, 15 * M, 20 * M)
    assert chain[2].confirm_within == 15 * M


def test_a_step_without_a_kind_is_a_page_as_before() -> None:
    step = ChainStep.from_dict({"after": "PT10M", "notify": ["director"]})
    assert (step.kind, step.until, step.confirm_within) == ("page", "acknowledged", None)


def test_an_inform_step_waits_for_receipts_not_for_an_acknowledgement() -> None:
    step = ChainStep.from_dict({"after": "PT0S", "notify": ["director"], "kind": "inform"})
    assert (step.until, step.confirm_within) == ("confirmed", 15 * M)
    assert ChainStep.from_dict(step.to_dict()) == step
    with pytest.raises(PolicyError, match="nobody else's acknowledgement") as caught:
        ChainStep.from_dict(
            {"after": "PT0S", "notify": ["director"], "kind": "inform", "until": "acknowledged"},
            key="s",
        )
    assert caught.value.key == "s.until"


def test_only_an_inform_step_takes_confirm_within() -> None:
    with pytest.raises(PolicyError) as caught:
        ChainStep.from_dict(
            {"after": "PT0S", "notify": ["director"], "confirm_within": "PT5M"}, key="s"
        )
    assert caught.value.key == "s.confirm_within"


def test_a_step_kind_must_be_page_or_inform() -> None:
    with pytest.raises(PolicyError) as caught:
        ChainStep.from_dict({"after": "PT0S", "notify": ["director"], "kind": "tell"}, key="s")
    assert caught.value.key == "s.kind"


def test_groups_name_group_destinations_once_each() -> None:
    step = ChainStep.from_dict({"after": "PT0S", "notify": ["director"], "groups": ["ops-wecom"]})
    assert step.groups == ("ops-wecom",)
    with pytest.raises(PolicyError) as caught:
        ChainStep.from_dict(
            {"after": "PT0S", "notify": ["director"], "groups": ["a", "a"]}, key="s"
        )
    assert caught.value.key == "s.groups[1]"


def test_it_starts_a_general_chain_with_the_command_center(policy: Policy) -> None:
    chain = policy.grade("general").chain
    assert chain[0].after == timedelta(0)
    # The duty officer the roster has on duty (值班表), and the command center's head.
    assert chain[0].notify == ("on_duty:duty_officer", "command_center_head")
    # The leader on duty (带班领导) is informed at once.
    assert (chain[1].kind, chain[1].notify) == ("inform", ("on_duty:duty_leader",))


def test_it_reaches_the_deputy_director_for_netsec_later_in_a_general_chain(
    policy: Policy,
) -> None:
    reached = [
        s.after for s in policy.grade("general").chain if "deputy_director_netsec" in s.notify
    ]
    assert reached[0] == H


def test_it_pages_the_director_before_the_internal_deadline_when_relatively_major(
    policy: Policy,
) -> None:
    grade = policy.grade("relatively_major")
    director = next(s for s in grade.chain if "director" in s.notify)
    internal = obligation(policy, "relatively_major", "internal")
    assert director.offsets()[-1] <= internal.window(policy.reporter_category)


@pytest.mark.parametrize("grade", REPORTABLE)
def test_it_alerts_the_director_on_a_breach_from_relatively_major_up(
    policy: Policy, grade: str
) -> None:
    assert "director" in policy.grade(grade).breach_notify


def test_it_uses_the_delivery_defaults(policy: Policy) -> None:
    assert policy.redact_titles is False
    assert policy.outbox.max_attempts == 8
    assert (policy.outbox.backoff_base, policy.outbox.lease) == (30 * timedelta(seconds=1), M / 2)


def test_it_applies_the_delivery_defaults_when_the_tables_are_absent() -> None:
    data = default_dict()
    del data["telegram"], data["outbox"]
    absent = Policy.from_dict(data)
    assert (absent.outbox, absent.redact_titles) == (load_policy().outbox, False)


def test_it_loads_a_policy_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
            'reporter_category = "local"', 'reporter_category = "cii"'
        ),
        encoding="utf-8",
    )
    assert load_policy(path).reporter_category == "cii"


# --- validation: every error names its key --------------------------------------------


def test_it_refuses_a_missing_grade() -> None:
    assert refused(lambda d: d["grades"].pop("major")).key == "grades.major"


def test_it_refuses_an_unknown_grade() -> None:
    assert refused(lambda d: d["grades"].update(minor={})).key == "grades.minor"


def test_it_refuses_an_unknown_top_level_key() -> None:
    error = refused(lambda d: d.update(reporter="local"))
    assert (error.key, error.message.split(";")[0]) == ("reporter", "unknown key")


def test_it_refuses_an_unknown_key_in_a_grade() -> None:
    error = refused(lambda d: d["grades"]["major"].update(handling_targt="PT1H"))
    assert error.key == "grades.major.handling_targt"


def test_it_refuses_an_unknown_key_in_an_obligation() -> None:
    error = refused(lambda d: d["grades"]["major"]["obligations"][0].update(due="PT1H"))
    assert error.key == "grades.major.obligations[0].due"


def test_it_refuses_an_unknown_key_in_a_chain_step() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][1].update(repeat=2))
    assert error.key == "grades.major.chain[1].repeat"


def test_it_refuses_an_unknown_key_in_the_outbox_table() -> None:
    assert refused(lambda d: d["outbox"].update(retries=3)).key == "outbox.retries"


def test_it_refuses_a_missing_required_key() -> None:
    error = refused(lambda d: d["grades"]["general"].pop("warn_at"))
    assert (error.key, error.message) == ("grades.general.warn_at", "is required")


def test_it_refuses_a_bad_duration() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][1].update(after="10 minutes"))
    assert error.key == "grades.major.chain[1].after"
    assert "ISO 8601" in error.message


def test_it_refuses_a_duration_in_months() -> None:
    error = refused(lambda d: d["grades"]["major"]["obligations"][2].update(within="P1M"))
    assert error.key == "grades.major.obligations[2].within"
    assert "months" in error.message


def test_it_refuses_a_zero_handling_target() -> None:
    error = refused(lambda d: d["grades"]["general"].update(handling_target="PT0S"))
    assert error.key == "grades.general.handling_target"


def test_it_refuses_a_step_earlier_than_the_one_before() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][3].update(after="PT5M"))
    assert error.key == "grades.major.chain[3].after"
    assert "got PT5M" in error.message


def test_it_accepts_two_steps_at_the_same_time() -> None:
    data = default_dict()
    data["grades"]["major"]["chain"][1]["after"] = "PT0S"
    assert Policy.from_dict(data).grade("major").chain[1].after == timedelta(0)


def test_it_refuses_an_empty_chain() -> None:
    assert refused(lambda d: d["grades"]["major"].update(chain=[])).key == "grades.major.chain"


def test_it_refuses_repeat_every_without_repeat_max() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][2].pop("repeat_max"))
    assert error.key == "grades.major.chain[2].repeat_max"


def test_it_refuses_repeat_max_without_repeat_every() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][2].pop("repeat_every"))
    assert error.key == "grades.major.chain[2].repeat_every"


def test_it_refuses_a_repeat_max_of_zero() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][2].update(repeat_max=0))
    assert str(error) == "grades.major.chain[2].repeat_max: must be an integer ≥ 1, got 0"


def test_it_refuses_an_unknown_role() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][0].update(notify=["director", "ceo"]))
    assert error.key == "grades.major.chain[0].notify[1]"


def test_it_refuses_an_unknown_role_in_breach_notify() -> None:
    error = refused(lambda d: d["grades"]["major"].update(breach_notify=["everyone"]))
    assert error.key == "grades.major.breach_notify[0]"


def test_it_refuses_a_recipient_listed_twice() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][1].update(notify=["director"] * 2))
    assert error.key == "grades.major.chain[1].notify[1]"


def test_it_accepts_a_named_person_and_the_relative_roles() -> None:
    data = default_dict()
    notify = ["person:zhang.wei", "responsible_department_head", "deputy_director_in_charge"]
    data["grades"]["major"]["chain"][1]["notify"] = notify
    assert Policy.from_dict(data).grade("major").chain[1].notify == tuple(notify)


def test_it_refuses_a_person_without_a_login() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][1].update(notify=["person:"]))
    assert error.key == "grades.major.chain[1].notify[0]"


def test_it_refuses_an_unknown_until() -> None:
    error = refused(lambda d: d["grades"]["major"]["chain"][1].update(until="closed"))
    assert error.key == "grades.major.chain[1].until"


def test_it_stops_a_step_on_acknowledgement_unless_told_otherwise(policy: Policy) -> None:
    assert policy.grade("general").chain[0].until == "acknowledged"


def test_it_refuses_an_unknown_reporter_category() -> None:
    error = refused(lambda d: d.update(reporter_category="county"))
    assert error.key == "reporter_category"


def test_it_refuses_an_unknown_time_zone() -> None:
    assert refused(lambda d: d.update(timezone="Asia/Beijing")).key == "timezone"


def test_it_refuses_a_time_zone_path() -> None:
    assert refused(lambda d: d.update(timezone="../etc/passwd")).key == "timezone"


@pytest.mark.parametrize(
    ("warn_at", "key"),
    [
        ([0.5, 1.0], "[1]"),
        ([0.0], "[0]"),
        ([0.9, 0.5], "[1]"),
        ([0.5, 0.5], "[1]"),
        (["half"], "[0]"),
    ],
)
def test_it_refuses_a_bad_warn_at(warn_at: list[object], key: str) -> None:
    error = refused(lambda d: d["grades"]["major"].update(warn_at=warn_at))
    assert error.key == "grades.major.warn_at" + key


def test_it_refuses_a_duplicate_obligation_name() -> None:
    error = refused(lambda d: d["grades"]["major"]["obligations"][2].update(name="internal"))
    assert error.key == "grades.major.obligations[2].name"


def test_it_refuses_a_within_table_missing_a_category() -> None:
    error = refused(lambda d: d["grades"]["major"]["obligations"][1]["within"].pop("central"))
    assert error.key == "grades.major.obligations[1].within.central"


def test_it_refuses_an_unknown_category_in_a_within_table() -> None:
    error = refused(
        lambda d: d["grades"]["major"]["obligations"][1]["within"].update(county="PT8H")
    )
    assert error.key == "grades.major.obligations[1].within.county"


def test_it_refuses_an_obligation_counted_from_an_unknown_event() -> None:
    error = refused(lambda d: d["grades"]["major"]["obligations"][0].update({"from": "opened"}))
    assert error.key == "grades.major.obligations[0].from"


def test_it_refuses_a_destination_that_is_not_an_identifier() -> None:
    error = refused(lambda d: d["grades"]["major"]["obligations"][0].update(to="Leading Group"))
    assert error.key == "grades.major.obligations[0].to"


def test_it_accepts_any_identifier_as_a_destination() -> None:
    data = default_dict()
    data["grades"]["major"]["obligations"][0]["to"] = "sector_regulator"
    assert obligation(Policy.from_dict(data), "major", "internal").to == "sector_regulator"


def test_it_refuses_a_redact_titles_that_is_not_a_boolean() -> None:
    error = refused(lambda d: d["telegram"].update(redact_titles="yes"))
    assert error.key == "telegram.redact_titles"


def test_it_refuses_a_toml_syntax_error_naming_the_line() -> None:
    text = 'reporter_category = "local"\ntimezone = "Asia/Shanghai"\ngrades = {\n'
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="drill.toml")
    assert caught.value.key == "drill.toml"
    assert "line 3" in caught.value.message


def test_it_refuses_a_multi_line_inline_table() -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        'repeat_every = "PT15M"', '\n    repeat_every = "PT15M"'
    )
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_policy(text)


def test_it_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "absent.toml")
    assert caught.value.key == str(tmp_path / "absent.toml")


def test_it_formats_the_error_as_key_and_message() -> None:
    assert str(PolicyError("grades.major", "is required")) == "grades.major: is required"


# --- windows and snapshots -----------------------------------------------------------


def test_it_gives_a_single_window_to_every_category(policy: Policy) -> None:
    internal = obligation(policy, "major", "internal")
    assert {internal.window(c) for c in ("cii", "central", "local")} == {H}


def test_it_refuses_a_window_for_an_unknown_category(policy: Policy) -> None:
    with pytest.raises(PolicyError):
        obligation(policy, "major", "external").window("county")


def test_it_refuses_an_unknown_grade_name(policy: Policy) -> None:
    with pytest.raises(PolicyError) as caught:
        policy.grade("minor")
    assert caught.value.key == "grades.minor"


@pytest.mark.parametrize("grade", GRADES)
def test_it_round_trips_a_grade_through_json(policy: Policy, grade: str) -> None:
    snapshot = json.loads(json.dumps(policy.grade(grade).to_dict()))
    assert GradePolicy.from_dict(snapshot) == policy.grade(grade)


def test_it_round_trips_the_whole_policy_through_json(policy: Policy) -> None:
    assert Policy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def test_it_writes_durations_as_iso_strings_in_a_snapshot(policy: Policy) -> None:
    snapshot = policy.grade("major").to_dict()
    assert snapshot["handling_target"] == "PT12H"
    assert snapshot["obligations"][1]["within"] == {
        "cii": "PT1H",
        "central": "PT2H",
        "local": "PT4H",
    }
    assert snapshot["chain"][2] == {
        "after": "PT10M",
        "kind": "inform",
        "notify": ["director"],
        "until": "confirmed",
        "confirm_within": "PT15M",
        "repeat_every": "PT5M",
        "repeat_max": 2,
    }


def test_it_round_trips_a_step_without_repeats() -> None:
    step = ChainStep(timedelta(seconds=30), ("director",), "resolved", None, 0)
    assert step.to_dict() == {"after": "PT30S", "notify": ["director"], "until": "resolved"}
    assert ChainStep.from_dict(step.to_dict()) == step
    assert step.offsets() == (timedelta(seconds=30),)


def test_it_validates_a_snapshot_like_the_file(policy: Policy) -> None:
    snapshot = policy.grade("major").to_dict()
    snapshot["chain"][0]["notify"] = []
    with pytest.raises(PolicyError) as caught:
        GradePolicy.from_dict(snapshot, key="incident.policy")
    assert caught.value.key == "incident.policy.chain[0].notify"


# --- durations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT0S", timedelta(0)),
        ("PT30S", timedelta(seconds=30)),
        ("PT10M", timedelta(minutes=10)),
        ("PT1H", timedelta(hours=1)),
        ("PT1M30S", timedelta(seconds=90)),
        ("P30D", timedelta(days=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("P2W", timedelta(weeks=2)),
        ("PT0.25S", timedelta(milliseconds=250)),
    ],
)
def test_it_parses_iso_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text, key="k") == expected


@pytest.mark.parametrize(
    "text", ["P1Y", "P1M", "P1Y2M3D", "PT1.5H", "1h", "90", "PT", "P", "", "-PT1H", "P1DT", "pt1h"]
)
def test_it_refuses_what_is_not_a_fixed_iso_duration(text: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_duration(text, key="outbox.lease")
    assert caught.value.key == "outbox.lease"


def test_it_explains_that_months_are_ambiguous() -> None:
    with pytest.raises(PolicyError, match="no fixed length"):
        parse_duration("P1M", key="k")


def test_it_explains_that_only_seconds_take_a_fraction() -> None:
    with pytest.raises(PolicyError, match="only seconds"):
        parse_duration("PT1.5H", key="k")


def test_it_refuses_a_number_where_a_duration_belongs() -> None:
    error = refused(lambda d: d["outbox"].update(lease=120))
    assert error.key == "outbox.lease"


def test_it_refuses_a_duration_too_long_to_compute() -> None:
    with pytest.raises(PolicyError, match="too long"):
        parse_duration("P999999999W", key="k")


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(seconds=30), "PT30S"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(days=30), "P30D"),
        (timedelta(days=1, hours=2), "P1DT2H"),
        (timedelta(hours=24), "P1D"),
        (timedelta(seconds=1, microseconds=500000), "PT1.5S"),
        (-timedelta(minutes=5), "-PT5M"),
    ],
)
def test_it_formats_durations_in_the_shortest_iso_form(td: timedelta, text: str) -> None:
    assert format_duration(td) == text


@pytest.mark.parametrize(
    "td",
    [timedelta(seconds=s) for s in (0, 1, 59, 61, 3599, 3601, 86399, 86401, 90061)]
    + [timedelta(days=400, microseconds=7)],
)
def test_it_parses_what_it_formats(td: timedelta) -> None:
    assert parse_duration(format_duration(td), key="k") == td


# --- the reference -------------------------------------------------------------------


def _doc_block(marker: str) -> str:
    blocks: list[str] = re.findall(
        r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL
    )
    return next(b for b in blocks if b.startswith(marker))


def test_it_accepts_the_drill_policy_in_the_reference() -> None:
    drill = parse_policy(_doc_block("# Drill policy"), source="docs/policy.md")
    for grade in drill.grades.values():
        last = max(offset for step in grade.chain for offset in step.offsets())
        assert last <= timedelta(minutes=1)
