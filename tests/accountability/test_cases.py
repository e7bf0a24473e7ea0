"""Article 6: who proposes, who decides, who agrees and who approves, and in what order."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from accountability import cases
from accountability.models import Agreement
from incidents.audit import AuditEvent
from incidents.errors import Conflict, Forbidden, ValidationError
from tests.accountability.support import DAY, HOUR, Bureau, tier3_case, tier4_case
from tests.conftest import T0


def joint(bureau: Bureau, case: int, sanction: str = "general_handling") -> None:
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction=sanction)


def agree_all(bureau: Bureau, case: int, at: datetime = DAY) -> None:
    for login in ("lgoffice", "hr", "officehead"):
        bureau.run(login, at, cases.agree, case_id=case, agreed=True)


def test_it_audits_the_determination_with_its_facts_and_rule_version(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    with bureau.factory() as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.kind == "accountability.case.determined")
        ).one()
    assert event.payload["clauses"] == ["5.3(b)"]
    assert event.payload["facts"]["impact"] == "some"
    assert event.payload["rule_version"] == bureau.case(case).determination.rule_version  # type: ignore[union-attr]


def test_it_refuses_a_graver_sanction_than_the_tier_allows(bureau: Bureau) -> None:
    case = tier3_case(bureau)

    with pytest.raises(ValidationError) as raised:
        joint(bureau, case, "serious_handling")
    assert raised.value.field == "sanction"


def test_it_needs_a_reason_to_propose_no_sanction(bureau: Bureau) -> None:
    case = tier3_case(bureau)

    with pytest.raises(ValidationError) as raised:
        bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction=None)
    assert raised.value.field == "reason"


def test_it_sends_a_6_1_proposal_to_the_leading_group(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction="circulated_criticism")

    assert bureau.case(case).status == "proposed"
    assert bureau.notified(case, "decide") == {"lgmember", "netsec", "director"}


def test_a_duty_officer_cannot_decide(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction="circulated_criticism")

    with pytest.raises(Forbidden):
        bureau.run("duty", DAY, cases.decide, case_id=case)
    assert bureau.case(case).status == "proposed"


def test_a_leading_group_member_decides_a_6_1_proposal(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction="circulated_criticism")
    bureau.run("lgmember", DAY, cases.decide, case_id=case)

    decided = bureau.case(case)
    assert (decided.status, decided.sanction, decided.decider_clause) == (
        "decided",
        "circulated_criticism",
        "6(1)",
    )


def test_nobody_decides_their_own_case(bureau: Bureau) -> None:
    # netsec is a leading group member and answers for the incident (3(2)).
    case = tier3_case(bureau, subject="netsec")
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction="circulated_criticism")

    with pytest.raises(Forbidden):
        bureau.run("netsec", DAY, cases.decide, case_id=case)


def test_a_6_2_sanction_is_not_decided_directly(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)

    with pytest.raises(Conflict) as raised:
        bureau.run("lgmember", DAY, cases.decide, case_id=case)
    assert raised.value.code == "joint_decision"


def test_hr_alone_cannot_complete_a_joint_decision(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)
    bureau.run("hr", DAY, cases.agree, case_id=case, agreed=True)

    assert bureau.case(case).status == "agreeing"
    with pytest.raises(Conflict):
        bureau.run("lgmember", DAY, cases.approve, case_id=case, approved=True)
    with pytest.raises(Forbidden):
        bureau.run("hr", DAY, cases.agree, case_id=case, agreed=True, party="competent_department")


def test_only_the_parties_of_6_2_agree(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)

    with pytest.raises(Forbidden):
        bureau.run("lgmember", DAY, cases.agree, case_id=case, agreed=True)


def test_the_competent_department_is_the_head_of_the_subject_department_s_competent_one(
    bureau: Bureau,
) -> None:
    # traffic's competent department is the office, headed by officehead.
    case = tier3_case(bureau)
    joint(bureau, case)
    bureau.run("officehead", DAY, cases.agree, case_id=case, agreed=True)

    with bureau.factory() as s:
        row = s.scalars(select(Agreement).where(Agreement.case_id == case)).one()
    assert row.party == "competent_department"


def test_only_the_leading_group_approves(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)
    agree_all(bureau, case)

    for login in ("hr", "lgoffice", "officehead", "duty"):
        with pytest.raises(Forbidden):
            bureau.run(login, DAY, cases.approve, case_id=case, approved=True)
    bureau.run("director", DAY, cases.approve, case_id=case, approved=True)
    assert bureau.case(case).status == "decided"


def test_a_disagreement_sends_the_proposal_back(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)
    bureau.run("hr", DAY, cases.agree, case_id=case, agreed=False, note="情节较轻,建议通报批评")

    back = bureau.case(case)
    assert (back.status, back.proposed_sanction) == ("determined", None)
    assert bureau.notified(case, "disagreed") == {"lgoffice"}


def test_a_disagreement_needs_its_reason(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)

    with pytest.raises(ValidationError) as raised:
        bureau.run("hr", DAY, cases.agree, case_id=case, agreed=False)
    assert raised.value.field == "note"


def test_a_refused_approval_sends_the_proposal_back(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)
    agree_all(bureau, case)
    bureau.run("lgmember", DAY, cases.approve, case_id=case, approved=False, reason="证据不足")

    assert bureau.case(case).status == "determined"


def test_agreements_bind_to_one_proposal(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)
    bureau.run("hr", DAY, cases.agree, case_id=case, agreed=True)
    joint(bureau, case)  # a new proposal: every party answers again

    bureau.run("hr", DAY, cases.agree, case_id=case, agreed=True)
    bureau.run("officehead", DAY, cases.agree, case_id=case, agreed=True)
    assert bureau.case(case).status == "agreeing"


def test_the_sanction_is_carried_out_only_after_the_decision(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)

    with pytest.raises(Conflict):
        bureau.run("hr", DAY, cases.execute, case_id=case)


def refer(bureau: Bureau, case: int) -> None:
    bureau.run(
        "lgoffice",
        DAY,
        cases.propose,
        case_id=case,
        sanction="serious_handling",
        police_referral=True,
        reason="销毁日志,情况十分严重",
    )


def test_a_police_referral_records_reported_executed_closed(bureau: Bureau) -> None:
    case = tier4_case(bureau)
    refer(bureau, case)
    agree_all(bureau, case)
    bureau.run("lgmember", DAY, cases.approve, case_id=case, approved=True)

    with pytest.raises(Conflict):
        bureau.run(
            "lgoffice", DAY, cases.police_step, case_id=case, step="executed", on=date(2026, 11, 28)
        )
    for step, on in (("reported", 28), ("executed", 29), ("closed", 30)):
        bureau.run(
            "lgoffice",
            T0 + 4 * 24 * HOUR,
            cases.police_step,
            case_id=case,
            step=step,
            on=date(2026, 11, on),
        )
    done = bureau.case(case)
    assert (done.police_reported_on, done.police_executed_on, done.police_closed_on) == (
        date(2026, 11, 28),
        date(2026, 11, 29),
        date(2026, 11, 30),
    )
    # The referral is beside the serious handling, which the Office still carries out.
    assert (done.status, done.sanction, done.police_referral) == (
        "decided",
        "serious_handling",
        True,
    )
    bureau.run("officehead", T0 + 4 * 24 * HOUR, cases.execute, case_id=case)
    bureau.run("lgoffice", T0 + 4 * 24 * HOUR, cases.close_case, case_id=case)
    assert bureau.case(case).status == "closed"


def test_a_police_date_cannot_go_backwards(bureau: Bureau) -> None:
    case = tier4_case(bureau)
    refer(bureau, case)
    agree_all(bureau, case)
    bureau.run("lgmember", DAY, cases.approve, case_id=case, approved=True)
    at = T0 + 4 * 24 * HOUR
    bureau.run(
        "lgoffice", at, cases.police_step, case_id=case, step="reported", on=date(2026, 11, 29)
    )

    with pytest.raises(ValidationError) as raised:
        bureau.run(
            "lgoffice", at, cases.police_step, case_id=case, step="executed", on=date(2026, 11, 28)
        )
    assert raised.value.field == "on"


def test_a_stale_step_is_refused(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction="circulated_criticism")
    bureau.run("lgmember", DAY, cases.decide, case_id=case)

    with pytest.raises(Conflict):
        bureau.run("director", DAY, cases.decide, case_id=case)


def test_every_step_is_audited(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    joint(bureau, case)
    agree_all(bureau, case)
    bureau.run("lgmember", DAY, cases.approve, case_id=case, approved=True)
    bureau.run("hr", DAY, cases.execute, case_id=case)
    bureau.run("lgoffice", DAY, cases.close_case, case_id=case)

    with bureau.factory() as s:
        kinds = list(
            s.scalars(
                select(AuditEvent.kind)
                .where(
                    AuditEvent.subject_type == "accountability_case", AuditEvent.subject_id == case
                )
                .order_by(AuditEvent.seq)
            )
        )
    assert kinds == [
        "accountability.case.opened",
        "accountability.finding.recorded",
        "accountability.case.determined",
        "accountability.case.proposed",
        "accountability.case.agreed",
        "accountability.case.agreed",
        "accountability.case.agreed",
        "accountability.case.approved",
        "accountability.case.executed",
        "accountability.case.closed",
    ]
