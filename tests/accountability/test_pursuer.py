"""5.4 closing sentence: the one who pursues accountability is accountable too.

对应追究责任主体责任而敷衍结案、弄虚作假的,应当对责任追究主体通报批评.
"""

from __future__ import annotations

import pytest

from accountability import cases
from accountability.subjects import subjects_of
from incidents.errors import ValidationError
from incidents.models import Incident
from tests.accountability.support import DAY, HOUR, Bureau, tier3_case
from tests.conftest import T0


def _waive(bureau: Bureau, case: int) -> None:
    bureau.run("lgoffice", DAY, cases.waive, case_id=case, reason="当事人已调离")


def _incident_of(bureau: Bureau, case: int) -> int:
    return bureau.case(case).incident_id


def test_5_4_closing_the_one_who_waived_a_tiered_case_answers_for_it(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    _waive(bureau, case)
    with bureau.factory() as s:
        incident = s.get(Incident, _incident_of(bureau, case))
        assert incident is not None
        pursuers = [x for x in subjects_of(s, incident) if x.basis.kind == "pursuer"]
    assert [(x.login, x.clause) for x in pursuers] == [("lgoffice", "5.4")]
    assert "敷衍结案" in pursuers[0].basis.text[0]


def test_5_4_closing_a_case_on_the_pursuer_is_circulated_criticism(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    _waive(bureau, case)
    incident = _incident_of(bureau, case)
    on_pursuer = bureau.open_case(incident, "lgoffice", DAY, by="lgmember")
    bureau.find(on_pursuer, DAY, by="lgmember", perfunctory_closure=True, impact="some")
    row = bureau.run("lgmember", DAY, cases.determine, case_id=on_pursuer)

    assert [c["id"] for c in row.assessment["clauses"]] == ["5.3(b)", "5.4(closing)"]
    with pytest.raises(ValidationError) as refused:
        bureau.run(
            "lgmember",
            DAY,
            cases.propose,
            case_id=on_pursuer,
            sanction="serious_handling",
        )
    assert refused.value.field == "sanction"


def test_5_4_closing_alone_allows_only_circulated_criticism(bureau: Bureau) -> None:
    incident = bureau.open_incident("general", caused_by=None)
    bureau.file(incident, T0 + HOUR, "internal")
    bureau.resolve(incident, T0 + 2 * HOUR)
    case = bureau.open_case(incident, "trafhead", DAY)
    bureau.find(case, DAY, rules_implemented=False)
    bureau.run("lgoffice", DAY, cases.determine, case_id=case)
    _waive(bureau, case)
    on_pursuer = bureau.open_case(incident, "lgoffice", DAY, by="lgmember")
    bureau.find(on_pursuer, DAY, by="lgmember", perfunctory_closure=True)
    row = bureau.run("lgmember", DAY, cases.determine, case_id=on_pursuer)

    assert [o["code"] for o in row.assessment["sanctions"]] == ["circulated_criticism"]
    with pytest.raises(ValidationError) as refused:
        bureau.run(
            "lgmember",
            DAY,
            cases.propose,
            case_id=on_pursuer,
            sanction="written_self_criticism",
            reason="",
        )
    assert refused.value.field == "reason"  # milder than 通报批评: justify it
    bureau.run("lgmember", DAY, cases.propose, case_id=on_pursuer, sanction="circulated_criticism")
    assert bureau.case(on_pursuer).proposed_sanction == "circulated_criticism"


def test_a_tier_collapsed_to_0_by_an_exemption_is_flagged_when_waived(bureau: Bureau) -> None:
    """5.5(a) 因不可抗力导致 waived 5.3(b): ending it with nothing is watched all the same."""
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + HOUR / 2, "internal")
    bureau.file(incident, T0 + 2 * HOUR, "external")
    bureau.resolve(incident, T0 + 14 * HOUR)
    bureau.file(incident, T0 + 20 * HOUR, "final")
    case = bureau.open_case(incident, "trafstaff", DAY)
    bureau.find(case, DAY, impact="some", force_majeure=True)
    row = bureau.run("lgoffice", DAY, cases.determine, case_id=case)
    assert (row.tier, [c["id"] for c in row.assessment["waived"]]) == (0, ["5.3(b)"])

    _waive(bureau, case)
    assert bureau.case(case).perfunctory is True
    assert "lgmember" in bureau.notified(case, "perfunctory")
