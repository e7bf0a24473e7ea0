"""A whole case, as the issue's walk-through tells it.

A major incident in the traffic division, caused by a staff member who had not applied
the patch rules: the internal report is filed in time, the external report to the
cyberspace administration is missed (then filed late), and handling overruns its 12 h
target with some impact. The facts come from the record, the investigation adds what only
it can know, the determination is tier 3 (5.2(a), 5.3(b)), general handling is proposed,
decided jointly under 6(2) and approved by the leading group, then carried out. When the
same person fails to apply the rules again, the record makes it a 5.2(d) repeat.
"""

from __future__ import annotations

from accountability import cases
from tests.accountability.support import HOUR, Bureau
from tests.conftest import T0


def test_it_walks_a_case_from_the_record_to_an_executed_joint_decision(
    any_bureau: Bureau,
) -> None:
    bureau = any_bureau
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + HOUR / 2, "internal")
    # The external report (4 h for a local organ) is missed, and filed late at 6 h.
    bureau.file(incident, T0 + 6 * HOUR, "external", late_reason="值班员未及时报送")
    # Handling takes 14 h against a 12 h target.
    bureau.resolve(incident, T0 + 14 * HOUR)
    day = T0 + 24 * HOUR

    case = bureau.open_case(incident, "trafstaff", day)
    bureau.find(
        case, day, rules_implemented=False, noncompliance_led_to_incident=True, impact="some"
    )
    determination = bureau.run("lgoffice", day, cases.determine, case_id=case)

    assert determination.facts["grade"] == "major"
    assert determination.facts["reported_as_required"] is False
    assert determination.facts["handled_promptly"] is False
    assert determination.facts["prior_sanctions"] == 0
    assert [c["id"] for c in determination.assessment["clauses"]] == ["5.2(a)", "5.3(b)"]
    assert determination.tier == 3

    bureau.run(
        "lgoffice",
        day,
        cases.propose,
        case_id=case,
        sanction="general_handling",
        reason="未落实补丁管理制度,迟报且处置超时",
    )
    assert bureau.case(case).status == "agreeing"
    assert bureau.notified(case, "agree") == {"lgoffice", "hr", "officehead"} - {"lgoffice"}

    bureau.run("hr", day, cases.agree, case_id=case, agreed=True)
    bureau.run("officehead", day, cases.agree, case_id=case, agreed=True)
    bureau.run("lgoffice", day, cases.agree, case_id=case, agreed=True)
    assert bureau.case(case).status == "approving"
    assert "lgmember" in bureau.notified(case, "approve")

    bureau.run("lgmember", day, cases.approve, case_id=case, approved=True)
    decided = bureau.case(case)
    assert (decided.status, decided.sanction) == ("decided", "general_handling")
    assert decided.for_noncompliance is True
    assert bureau.notified(case, "decided") == {"trafstaff"}
    assert {"lgoffice", "hr"} <= bureau.notified(case, "execute")

    bureau.run("hr", day + HOUR, cases.execute, case_id=case, note="已按程序处理")
    assert bureau.case(case).status == "executed"

    # Weeks later the same person again leaves the rules unimplemented: a general incident
    # with another cause. The record now holds one executed sanction for non-compliance.
    later = T0 + 30 * 24 * HOUR
    second = bureau.open_incident("general", at=later)
    bureau.file(second, later + HOUR, "internal")
    repeat = bureau.open_case(second, "trafstaff", later + HOUR)
    bureau.find(repeat, later + HOUR, rules_implemented=False, handled_promptly=True)
    again = bureau.run("lgoffice", later + HOUR, cases.determine, case_id=repeat)

    assert again.facts["prior_sanctions"] == 1
    assert "5.2(d)" in [c["id"] for c in again.assessment["clauses"]]
    assert again.tier == 2
