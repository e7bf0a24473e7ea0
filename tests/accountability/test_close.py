"""The process held to account (5.4 closing sentence), and closing the incident."""

from __future__ import annotations

import pytest

from accountability import cases
from accountability.close import close_incident, perfunctory_closures
from incidents.errors import Conflict, Forbidden, ValidationError
from incidents.models import Incident
from incidents.permissions import capabilities
from tests.accountability.support import DAY, HOUR, Bureau, tier3_case
from tests.conftest import T0


def _listed(bureau: Bureau, login: str = "lgmember") -> list[int]:
    with bureau.factory() as s:
        person = bureau.org[login]
        return [c.id for c in perfunctory_closures(s, capabilities(s, person, DAY))]


def _decide_none(bureau: Bureau, case: int) -> None:
    bureau.run(
        "lgoffice", DAY, cases.propose, case_id=case, sanction=None, reason="当事人已调离,且系初犯"
    )
    bureau.run("lgmember", DAY, cases.decide, case_id=case)


def test_closing_with_no_sanction_needs_a_justification(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    _decide_none(bureau, case)

    with pytest.raises(ValidationError) as raised:
        bureau.run("lgoffice", DAY, cases.close_case, case_id=case)
    assert raised.value.field == "justification"


def test_a_perfunctory_closure_is_listed_for_the_leading_group(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    _decide_none(bureau, case)
    bureau.run(
        "lgoffice", DAY, cases.close_case, case_id=case, justification="当事人已调离,情节轻微"
    )

    closed = bureau.case(case)
    assert (closed.status, closed.perfunctory) == ("closed", True)
    assert _listed(bureau) == [case]
    assert "lgmember" in bureau.notified(case, "perfunctory")


def test_a_milder_sanction_than_the_tier_allows_is_listed(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    bureau.run(
        "lgoffice",
        DAY,
        cases.propose,
        case_id=case,
        sanction="written_self_criticism",
        reason="主动报告,积极整改",
    )
    bureau.run("lgmember", DAY, cases.decide, case_id=case)
    bureau.run("lgoffice", DAY, cases.execute, case_id=case)
    bureau.run("lgoffice", DAY, cases.close_case, case_id=case, justification="主动报告")

    assert _listed(bureau) == [case]


def test_a_closure_within_the_tier_is_not_listed(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction="circulated_criticism")
    bureau.run("lgmember", DAY, cases.decide, case_id=case)
    bureau.run("lgoffice", DAY, cases.execute, case_id=case)
    bureau.run("lgoffice", DAY, cases.close_case, case_id=case)

    assert bureau.case(case).perfunctory is False
    assert _listed(bureau) == []


def test_waiving_a_case_with_a_tier_is_listed(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    bureau.run("lgoffice", DAY, cases.waive, case_id=case, reason="另案处理")

    assert bureau.case(case).status == "waived"
    assert _listed(bureau) == [case]


def test_waiving_before_any_determination_is_not_listed(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")
    case = bureau.open_case(incident, "director", T0)
    bureau.run("lgoffice", T0, cases.waive, case_id=case, reason="与本事件无关")

    assert _listed(bureau) == []


def test_waiving_needs_a_reason(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")
    case = bureau.open_case(incident, "director", T0)

    with pytest.raises(ValidationError):
        bureau.run("lgoffice", T0, cases.waive, case_id=case, reason="  ")


def test_the_perfunctory_list_is_for_the_leading_group(bureau: Bureau) -> None:
    with pytest.raises(Forbidden):
        _listed(bureau, "hr")


def _closable(bureau: Bureau) -> int:
    """A general incident with every report filed, resolved in time."""
    incident = bureau.open_incident("general")
    bureau.file(incident, T0 + HOUR, "internal")
    bureau.resolve(incident, T0 + 2 * HOUR)
    return incident


def _status(bureau: Bureau, incident: int) -> str:
    with bureau.factory() as s:
        found = s.get(Incident, incident)
        assert found is not None
        return found.status


def test_the_incident_closes_only_when_every_case_is_settled(any_bureau: Bureau) -> None:
    bureau = any_bureau
    incident = _closable(bureau)
    decided = bureau.open_case(incident, "trafstaff", DAY)
    bureau.find(decided, DAY, rules_implemented=False)
    bureau.run("lgoffice", DAY, cases.determine, case_id=decided)
    waived = bureau.open_case(incident, "director", DAY)

    with pytest.raises(Conflict) as raised:
        bureau.run("duty", DAY, close_incident, incident_id=incident)
    assert raised.value.code == "accountability_pending"
    assert _status(bureau, incident) == "resolved"

    bureau.run("lgoffice", DAY, cases.propose, case_id=decided, sanction="criticism_education")
    bureau.run("lgmember", DAY, cases.decide, case_id=decided)
    with pytest.raises(Conflict):
        bureau.run("duty", DAY, close_incident, incident_id=incident)

    bureau.run("lgoffice", DAY, cases.waive, case_id=waived, reason="未参与该系统管理")
    bureau.run("duty", DAY, close_incident, incident_id=incident)
    assert _status(bureau, incident) == "closed"


def test_an_incident_without_cases_closes(bureau: Bureau) -> None:
    incident = _closable(bureau)

    bureau.run("duty", DAY, close_incident, incident_id=incident)
    assert _status(bureau, incident) == "closed"


def test_no_case_is_opened_on_a_closed_incident(bureau: Bureau) -> None:
    incident = _closable(bureau)
    bureau.run("duty", DAY, close_incident, incident_id=incident)

    with pytest.raises(Conflict):
        bureau.open_case(incident, "trafstaff", DAY)
