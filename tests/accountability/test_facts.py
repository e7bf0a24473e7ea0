"""Facts from the record, findings with evidence, and overrides with a reason."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from accountability import cases
from accountability.facts import Entry, case_facts
from accountability.models import Finding
from accountability.rules import InvalidFacts
from incidents.audit import AuditEvent
from incidents.errors import Conflict, ValidationError
from tests.accountability.support import HOUR, Bureau, decide_milder_case
from tests.conftest import T0


def _facts(bureau: Bureau, case_id: int, at: datetime) -> dict[str, object]:
    with bureau.factory() as s:
        return case_facts(s, bureau.case_on(s, case_id), now=at).facts()


def _sources(bureau: Bureau, case_id: int, at: datetime) -> dict[str, str]:
    with bureau.factory() as s:
        return case_facts(s, bureau.case_on(s, case_id), now=at).sources()


def test_it_takes_the_grade_from_the_record(bureau: Bureau) -> None:
    incident = bureau.open_incident("relatively_major")
    case = bureau.open_case(incident, "trafhead", T0)

    assert _facts(bureau, case, T0)["grade"] == "relatively_major"


def test_it_counts_reports_filed_in_time_as_reported(bureau: Bureau) -> None:
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + HOUR / 2, "internal")
    bureau.file(incident, T0 + HOUR, "external")
    case = bureau.open_case(incident, "trafhead", T0 + 2 * HOUR)

    assert _facts(bureau, case, T0 + 2 * HOUR)["reported_as_required"] is True


def test_it_counts_a_late_report_as_not_reported_as_required(bureau: Bureau) -> None:
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + 2 * HOUR, "internal", late_reason="领导外出")
    case = bureau.open_case(incident, "trafhead", T0 + 2 * HOUR)

    assert _facts(bureau, case, T0 + 2 * HOUR)["reported_as_required"] is False


def test_it_counts_a_deadline_passed_without_a_filing_as_missed(bureau: Bureau) -> None:
    # No sweep has run: the fact does not wait for the worker.
    incident = bureau.open_incident("major")
    case = bureau.open_case(incident, "trafhead", T0 + 5 * HOUR)

    assert _facts(bureau, case, T0 + 5 * HOUR)["reported_as_required"] is False


def test_it_takes_handled_promptly_from_the_handling_target(bureau: Bureau) -> None:
    prompt = bureau.open_incident("major")
    bureau.resolve(prompt, T0 + 11 * HOUR)
    late = bureau.open_incident("major", department="finance", caused_by=None)
    bureau.resolve(late, T0 + 13 * HOUR)
    day = T0 + 24 * HOUR

    assert _facts(bureau, bureau.open_case(prompt, "trafhead", day), day)["handled_promptly"]
    assert not _facts(bureau, bureau.open_case(late, "finhead", day), day)["handled_promptly"]


def test_it_waits_for_handling_before_determining(bureau: Bureau) -> None:
    incident = bureau.open_incident("major")
    case = bureau.open_case(incident, "trafhead", T0 + HOUR)

    with pytest.raises(Conflict) as raised:
        bureau.run("lgoffice", T0 + HOUR, cases.determine, case_id=case)
    assert raised.value.field == "handled_promptly"


def test_it_determines_an_unresolved_incident_past_its_target_as_not_prompt(
    bureau: Bureau,
) -> None:
    incident = bureau.open_incident("major")
    case = bureau.open_case(incident, "trafhead", T0 + 13 * HOUR)
    bureau.find(case, T0 + 13 * HOUR, impact="some")

    row = bureau.run("lgoffice", T0 + 13 * HOUR, cases.determine, case_id=case)
    assert row.facts["handled_promptly"] is False


def test_it_refuses_an_override_without_a_reason(bureau: Bureau) -> None:
    incident = bureau.open_incident("major")
    case = bureau.open_case(incident, "trafhead", T0)

    with pytest.raises(ValidationError) as raised:
        bureau.run(
            "lgoffice",
            T0,
            cases.enter_findings,
            case_id=case,
            entries=[Entry("reported_as_required", True, evidence="见报送记录")],
        )
    assert raised.value.field == "reason"


def test_it_audits_an_override_with_its_reason(bureau: Bureau) -> None:
    incident = bureau.open_incident("major")
    case = bureau.open_case(incident, "trafhead", T0 + 5 * HOUR)
    bureau.run(
        "lgoffice",
        T0 + 5 * HOUR,
        cases.enter_findings,
        case_id=case,
        entries=[Entry("reported_as_required", True, reason="已电话报告网信部门")],
    )

    assert _facts(bureau, case, T0 + 5 * HOUR)["reported_as_required"] is True
    assert _sources(bureau, case, T0 + 5 * HOUR)["reported_as_required"] == "override"
    with bureau.factory() as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.kind == "accountability.fact.overridden")
        ).one()
    assert event.payload["fact"] == "reported_as_required"
    assert event.payload["reason"] == "已电话报告网信部门"


def test_it_refuses_a_finding_without_evidence(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")
    case = bureau.open_case(incident, "trafhead", T0)

    with pytest.raises(ValidationError) as raised:
        bureau.run(
            "lgoffice",
            T0,
            cases.enter_findings,
            case_id=case,
            entries=[Entry("rules_implemented", False)],
        )
    assert raised.value.field == "evidence"


def test_it_stores_nothing_when_the_findings_cannot_be_assessed(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")
    case = bureau.open_case(incident, "trafhead", T0)

    with pytest.raises(InvalidFacts) as raised:
        bureau.run(
            "lgoffice",
            T0,
            cases.enter_findings,
            case_id=case,
            entries=[
                Entry("cooperation", "poor", evidence="多次催促未到"),
                Entry("noncompliance_led_to_incident", True, evidence="漏洞未修补"),
            ],
        )
    assert raised.value.field == "noncompliance_led_to_incident"
    with bureau.factory() as s:
        assert s.scalar(select(func.count(Finding.id))) == 0


def test_it_keeps_every_finding_and_uses_the_latest(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")
    case = bureau.open_case(incident, "trafhead", T0)
    bureau.find(case, T0, cooperation="poor")
    bureau.find(case, T0 + HOUR, cooperation="full")

    assert _facts(bureau, case, T0 + HOUR)["cooperation"] == "full"
    with bureau.factory() as s:
        assert s.scalar(select(func.count(Finding.id))) == 2


def test_it_lets_no_one_but_the_investigators_enter_findings(bureau: Bureau) -> None:
    from incidents.errors import Forbidden

    incident = bureau.open_incident("general")
    case = bureau.open_case(incident, "trafhead", T0)

    with pytest.raises(Forbidden):
        bureau.find(case, T0, by="duty", cooperation="poor")


def test_it_counts_only_executed_sanctions_for_non_compliance_as_prior(bureau: Bureau) -> None:
    first = bureau.open_incident("general")
    # A sanction decided but not yet carried out does not count.
    case = decide_milder_case(bureau, first, T0 + 80 * HOUR, rules_implemented=False)
    later = T0 + 100 * HOUR
    second = bureau.open_incident("general", at=later)
    repeat = bureau.open_case(second, "trafstaff", later)
    assert _facts(bureau, repeat, later)["prior_sanctions"] == 0

    bureau.run("lgoffice", later + HOUR / 2, cases.execute, case_id=case)
    third = bureau.open_incident("general", at=later + HOUR)
    after = bureau.open_case(third, "trafstaff", later + HOUR)
    assert _facts(bureau, after, later + HOUR)["prior_sanctions"] == 1
    # The second incident was detected before the sanction was carried out.
    assert _facts(bureau, repeat, later + HOUR)["prior_sanctions"] == 0


def test_it_does_not_count_a_sanction_for_something_other_than_non_compliance(
    bureau: Bureau,
) -> None:
    first = bureau.open_incident("general")
    case = decide_milder_case(bureau, first, T0 + 80 * HOUR, rules_implemented=True)
    bureau.run("lgoffice", T0 + 80 * HOUR, cases.execute, case_id=case)
    later = T0 + 100 * HOUR
    second = bureau.open_incident("general", at=later)

    assert (
        _facts(bureau, bureau.open_case(second, "trafstaff", later), later)["prior_sanctions"] == 0
    )
