"""The use cases against the clocks: acknowledge, file, breach, regrade, escalate, resolve.

Times are minutes after T0 on a frozen clock; the incident is the traffic division's
(see test_walk for who the roles resolve to).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation import response
from escalation.models import EscalationChain, Obligation
from escalation.queries import escalation_state, obligations_of
from incidents.audit import AuditEvent
from incidents.errors import Conflict, ValidationError
from incidents.org import Person
from tests.conftest import T0, actor_for
from tests.escalation.support import DEFAULT_POLICY, Walk, open_, people

INITIAL = {"entity": "交通管理处;交通管理综合信息平台", "occurrence": "11月27日09:00发现篡改"}
FINAL = {
    "cause": "弱口令",
    "measures": "下线修复",
    "harm": "首页被篡改2小时",
    "accountability": "另案处理",
    "rectification": "全面改密",
    "lessons": "加强巡检",
}
LGM = ("netsec", "director", "lgmember")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ack(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    incident_id: int,
    minute: float,
    who: str = "cchead",
) -> bool:
    with factory() as s, s.begin():
        return response.acknowledge(
            s,
            incident_id=incident_id,
            actor=actor_for(org[who]),
            now=T0 + timedelta(minutes=minute),
        ).changed


def file(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    incident_id: int,
    minute: float,
    kind: str = "initial",
    late_reason: str | None = None,
    **items: object,
) -> None:
    body = dict(INITIAL if kind == "initial" else FINAL if kind == "final" else {}, **items)
    with factory() as s, s.begin():
        response.file_report(
            s,
            incident_id=incident_id,
            kind=kind,
            items=body,
            actor=actor_for(org["duty"]),
            now=T0 + timedelta(minutes=minute),
            policy=DEFAULT_POLICY,
            late_reason=late_reason,
        )


def statuses(factory: sessionmaker[Session], incident_id: int, minute: float) -> dict[str, str]:
    with factory() as s:
        rows = obligations_of(s, incident_id, T0 + timedelta(minutes=minute))
    return {r["name"]: r["status"] for r in rows}


def kinds(timeline: dict[int, set[tuple[str, str]]]) -> set[str]:
    return {kind for events in timeline.values() for kind, _ in events}


# --- acknowledgement -----------------------------------------------------------------


def test_acknowledging_stops_the_chain_but_not_the_reporting_deadline(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(12)
    assert ack(factory, org, incident_id, 12)
    walk.note()
    walk.to(245)
    after = walk.between(13, 245)
    assert "step" not in kinds(after)
    assert after[30] == people("warning", "duty", "cchead", "netsec")
    assert after[60] == people("breach", "netsec", "director", "lgoffice")
    assert after[240] == people("breach", "netsec", "director", "lgoffice")


def test_acknowledging_tells_everyone_paged_so_far(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(12)
    ack(factory, org, incident_id, 12)
    walk.note()
    assert walk.timeline[12] == people("acknowledged", "duty", "netsec", "director")


def test_a_second_acknowledgement_is_harmless(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    assert ack(factory, org, incident_id, 2) is True
    with factory() as s:
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    assert ack(factory, org, incident_id, 3, who="netsec") is False
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events
        state = escalation_state(s, incident_id)
    assert state["acknowledged_by"]["login"] == "cchead"
    assert state["acknowledged_at"] == at(2).isoformat()


def test_a_person_outside_the_chain_cannot_acknowledge(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from incidents.errors import Forbidden

    incident_id = open_(factory, org, "major")
    with pytest.raises(Forbidden):
        ack(factory, org, incident_id, 2, who="trafstaff")


def test_the_owning_department_head_may_acknowledge(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    assert ack(factory, org, incident_id, 2, who="trafhead")


# --- filing ------------------------------------------------------------------------


def test_filing_the_report_stops_its_deadline_alerts(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(20)
    ack(factory, org, incident_id, 20)
    file(factory, org, incident_id, 20, obligation="internal")
    walk.note()
    walk.to(245)
    after = walk.between(21, 245)
    assert 54 not in after and 60 not in after  # the internal report's warning and breach
    assert after[120] == people("warning", "duty", "cchead", "netsec")  # external still runs
    assert statuses(factory, incident_id, 245) == {
        "internal": "met",
        "external": "missed",
        "final": "pending",
    }


def test_an_initial_report_without_a_choice_fulfils_every_initial_obligation(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(15)
    file(factory, org, incident_id, 15)
    walk.to(245)
    assert kinds(walk.between(16, 245)) == {"step"}  # the chain, nothing about deadlines
    assert statuses(factory, incident_id, 245) == {
        "internal": "met",
        "external": "met",
        "final": "pending",
    }


def test_a_breach_alerts_once_and_marks_the_report_missed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(200)
    breaches = sorted(
        (m, e) for m, events in walk.timeline.items() for e in events if e[0] == "breach"
    )
    assert breaches == sorted(
        (60, ("breach", login)) for login in ("netsec", "director", "lgoffice")
    )
    assert statuses(factory, incident_id, 200)["internal"] == "missed"


def test_filing_after_a_breach_makes_it_late_with_the_reason(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(61)
    file(factory, org, incident_id, 70, obligation="internal", late_reason="值班交接延误")
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, at(70))}
    assert rows["internal"]["status"] == "late"
    assert rows["internal"]["late_reason"] == "值班交接延误"
    assert rows["internal"]["breached_at"] == at(60).isoformat()


def test_a_late_filing_needs_a_reason(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with pytest.raises(ValidationError) as err:
        file(factory, org, incident_id, 61, obligation="internal")
    assert err.value.field == "late_reason"


def test_filing_just_at_the_deadline_is_on_time(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 60, obligation="internal")
    assert statuses(factory, incident_id, 60)["internal"] == "met"


def test_filing_the_same_initial_report_twice_is_a_conflict(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 5, obligation="internal")
    with pytest.raises(Conflict):
        file(factory, org, incident_id, 6, obligation="internal")


def test_a_supplement_needs_the_initial_report_first(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with pytest.raises(Conflict):
        file(factory, org, incident_id, 5, kind="supplement", trend="事态已控制")
    file(factory, org, incident_id, 6)
    file(factory, org, incident_id, 7, kind="supplement", trend="事态已控制")


def test_until_reported_steps_page_until_the_initial_reports_are_filed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from config.policy import ChainStep, Policy

    major = DEFAULT_POLICY.grade("major")
    nag = ChainStep(
        timedelta(minutes=30), ("person:officehead",), "reported", timedelta(minutes=20), 5
    )
    grades = dict(
        DEFAULT_POLICY.grades,
        major=type(major)(
            major.handling_target,
            major.breach_notify,
            major.warn_at,
            major.obligations,
            (*major.chain, nag),
        ),
    )
    policy = Policy(
        DEFAULT_POLICY.reporter_category,
        DEFAULT_POLICY.timezone,
        grades,
        DEFAULT_POLICY.redact_titles,
        DEFAULT_POLICY.outbox,
    )
    incident_id = open_(factory, org, "major", policy=policy)
    ack(factory, org, incident_id, 1)
    walk = Walk(factory, incident_id, policy=policy).to(55)
    assert walk.timeline[30] >= people("step", "officehead")  # acknowledged: still paged
    assert walk.timeline[50] == people("step", "officehead")
    file(factory, org, incident_id, 55)
    walk.to(130)
    assert ("step", "officehead") not in set().union(*walk.between(56, 130).values())


# --- regrading -----------------------------------------------------------------------


def regrade(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    incident_id: int,
    minute: float,
    grade: str,
) -> None:
    with factory() as s, s.begin():
        response.regrade(
            s,
            incident_id=incident_id,
            grade=grade,
            reason="影响扩大",
            actor=actor_for(org["cchead"]),
            now=T0 + timedelta(minutes=minute),
            policy=DEFAULT_POLICY,
        )


def test_an_upgrade_half_way_tightens_the_deadlines_and_restarts_the_chain(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    walk = Walk(factory, incident_id).to(30)
    regrade(factory, org, incident_id, 30, "major")
    walk.note()
    walk.to(245)
    # The general chain would have paged netsec and trafhead at 60; the major one runs
    # from the upgrade: first step at once, the director at 40, the leading group at 60…
    assert walk.between(30, 245) == {
        30: people("step", "duty", "cchead", "netsec"),
        40: people("step", "director"),
        54: people("warning", "duty", "cchead", "netsec"),  # internal: 1 h from detection
        60: people("step", *LGM) | people("breach", "netsec", "director", "lgoffice"),
        75: people("step", *LGM),
        90: people("step", *LGM),
        105: people("step", *LGM),
        120: people("step", *LGM) | people("warning", "duty", "cchead", "netsec"),
        216: people("warning", "duty", "cchead", "netsec"),
        240: people("breach", "netsec", "director", "lgoffice"),
    }
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, walk.now())}
    assert rows["internal"]["due_at"] == at(60).isoformat()
    assert rows["external"]["due_at"] == at(240).isoformat()


def test_an_upgrade_past_the_new_deadlines_breaches_them_at_once(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    regrade(factory, org, incident_id, 720, "major")
    walk = Walk(factory, incident_id, minute=720).to(721)
    assert statuses(factory, incident_id, 721) == {
        "internal": "missed",
        "external": "missed",
        "final": "pending",
    }
    assert people("breach", "netsec", "director", "lgoffice") <= walk.timeline[721]


def test_an_upgraded_chain_must_be_acknowledged_again(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    assert ack(factory, org, incident_id, 5)
    regrade(factory, org, incident_id, 30, "major")
    walk = Walk(factory, incident_id, minute=30).to(41)
    assert walk.timeline.get(40) == people("step", "director")
    assert ack(factory, org, incident_id, 41, who="netsec")
    walk.to(120)
    assert "step" not in kinds(walk.between(42, 120))


def test_a_downgrade_keeps_the_breach_and_waives_what_the_lower_grade_does_not_owe(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(100)
    regrade(factory, org, incident_id, 100, "general")
    walk.note()
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, at(100))}
    assert rows["internal"]["status"] == "missed"
    assert rows["internal"]["due_at"] == at(60).isoformat()
    assert rows["external"]["status"] == "waived"
    assert rows["final"]["status"] == "waived"
    walk.to(245)
    # Nobody is paged again for the downgrade; the general chain goes on from T0 (4 h).
    assert 100 not in walk.timeline
    assert walk.between(101, 245) == {240: people("step", "netsec")}


def test_a_downgrade_keeps_a_late_filing(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(61)
    file(factory, org, incident_id, 65, obligation="internal", late_reason="系统故障")
    regrade(factory, org, incident_id, 70, "general")
    assert statuses(factory, incident_id, 70)["internal"] == "late"


def test_a_downgrade_settles_a_breach_due_before_the_sweep_saw_it(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    regrade(factory, org, incident_id, 61, "general")  # no sweep since the 60 min deadline
    assert statuses(factory, incident_id, 61)["internal"] == "missed"


# --- escalate now, resolve, close, reopen --------------------------------------------


def test_escalate_now_pages_the_next_step_at_once(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(2)
    with factory() as s, s.begin():
        result = response.escalate_now(
            s, incident_id=incident_id, actor=actor_for(org["duty"]), now=at(2)
        )
    walk.note()
    assert result.step == 1
    assert walk.timeline[2] == people("step", "director")
    walk.to(29)
    assert 10 not in walk.timeline  # the director's page already went out


def test_escalate_now_after_acknowledgement_still_pages_when_asked(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    ack(factory, org, incident_id, 1)
    walk = Walk(factory, incident_id, minute=1).to(2)
    with factory() as s, s.begin():
        response.escalate_now(s, incident_id=incident_id, actor=actor_for(org["cchead"]), now=at(2))
    walk.note()
    assert walk.timeline[2] == people("step", "director")


def test_escalate_now_past_the_last_step_is_a_conflict(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(31)
    with factory() as s, s.begin(), pytest.raises(Conflict):
        response.escalate_now(s, incident_id=incident_id, actor=actor_for(org["duty"]), now=at(31))


def resolve(
    factory: sessionmaker[Session], org: dict[str, Person], incident_id: int, minute: float
) -> None:
    with factory() as s, s.begin():
        response.start_handling(
            s,
            incident_id=incident_id,
            actor=actor_for(org["cchead"]),
            now=T0 + timedelta(minutes=minute),
        )
        response.resolve(
            s,
            incident_id=incident_id,
            actor=actor_for(org["cchead"]),
            now=T0 + timedelta(minutes=minute),
            policy=DEFAULT_POLICY,
            summary="已恢复",
        )


def test_resolving_starts_the_final_report_and_records_prompt_handling(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from escalation.queries import handling_outcome

    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 20)
    resolve(factory, org, incident_id, 180)
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, at(180))}
        outcome = handling_outcome(s, incident_id, at(180))
    assert rows["final"]["due_at"] == (T0 + timedelta(minutes=180, days=30)).isoformat()
    assert outcome["handled_promptly"] is True


def test_resolving_after_the_handling_target_is_not_prompt(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from escalation.queries import handling_outcome

    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 20)
    resolve(factory, org, incident_id, 12 * 60 + 1)
    with factory() as s:
        assert handling_outcome(s, incident_id, at(800))["handled_promptly"] is False


def test_resolving_stops_every_page(factory: sessionmaker[Session], org: dict[str, Person]) -> None:
    incident_id = open_(factory, org, "relatively_major")
    file(factory, org, incident_id, 1)
    resolve(factory, org, incident_id, 2)
    walk = Walk(factory, incident_id, minute=2).to(200)
    assert "step" not in kinds(walk.between(3, 200))


def test_closing_is_refused_while_a_report_is_owed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 20)
    resolve(factory, org, incident_id, 60)
    with factory() as s, s.begin(), pytest.raises(Conflict) as err:
        response.close(s, incident_id=incident_id, actor=actor_for(org["cchead"]), now=at(61))
    assert err.value.code == "obligations_pending"
    file(factory, org, incident_id, 62, kind="final")
    with factory() as s, s.begin():
        closed = response.close(
            s, incident_id=incident_id, actor=actor_for(org["cchead"]), now=at(63)
        )
        assert closed.status == "closed"


def test_the_final_report_waits_for_the_resolution(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with pytest.raises(Conflict):
        file(factory, org, incident_id, 30, kind="final")


def test_reopening_puts_the_final_report_back_to_waiting(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 20)
    resolve(factory, org, incident_id, 60)
    walk = Walk(factory, incident_id, minute=60).to(61)
    with factory() as s, s.begin():
        response.reopen(
            s,
            incident_id=incident_id,
            reason="复发",
            actor=actor_for(org["cchead"]),
            now=at(61),
            policy=DEFAULT_POLICY,
        )
    walk.note()
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, at(61))}
        chains = s.scalars(
            select(EscalationChain).where(EscalationChain.incident_id == incident_id)
        ).all()
    assert rows["final"]["due_at"] is None and rows["final"]["status"] == "pending"
    assert [c.reason for c in chains] == ["opened", "reopened"]
    assert {kind for kind, _ in walk.timeline[61]} == {"reopened"}


def test_transition_dispatches_to_the_use_case(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    with factory() as s, s.begin():
        incident = response.transition(
            s,
            incident_id=incident_id,
            to="handling",
            reason=None,
            actor=actor_for(org["duty"]),
            now=at(1),
            policy=DEFAULT_POLICY,
        )
        assert incident.status == "handling" and incident.acknowledged_at == at(1)
    with factory() as s, s.begin(), pytest.raises(Conflict):
        response.transition(
            s,
            incident_id=incident_id,
            to="new",
            reason=None,
            actor=actor_for(org["duty"]),
            now=at(2),
            policy=DEFAULT_POLICY,
        )


def test_opening_needs_the_command_center(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from incidents.errors import Forbidden

    with pytest.raises(Forbidden):
        open_(factory, org, "general", by="trafstaff")


def test_every_obligation_change_is_audited(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(61)
    file(factory, org, incident_id, 62, obligation="internal", late_reason="交接延误")
    with factory() as s:
        audited = s.scalars(
            select(AuditEvent.kind)
            .where(AuditEvent.incident_id == incident_id)
            .order_by(AuditEvent.seq)
        ).all()
        missed = s.scalar(select(Obligation.id).where(Obligation.name == "internal"))
    assert "obligations.planned" in audited
    assert "obligation.missed" in audited and "obligation.late" in audited
    assert missed is not None
