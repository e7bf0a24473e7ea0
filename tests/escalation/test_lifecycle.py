"""Escalate now, resolve, close, reopen, and the transitions that dispatch to them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation import response
from escalation.models import EscalationChain, Obligation
from escalation.queries import obligations_of
from incidents.audit import AuditEvent
from incidents.errors import Conflict
from incidents.org import Person
from tests.conftest import T0, actor_for
from tests.escalation.support import (
    DEFAULT_POLICY,
    Walk,
    ack,
    at,
    file,
    kinds,
    open_,
    people,
    resolve,
    without_informs,
)


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
    # The next *page* step (3(2) as responder, due at 15 min); informs keep their clock.
    assert result.step == 3
    assert walk.timeline[2] == people("step", "netsec")
    walk.to(29)
    assert ("step", "netsec") not in walk.timeline[15]  # that page already went out


def test_escalate_now_after_acknowledgement_still_pages_when_asked(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    ack(factory, org, incident_id, 1)
    walk = Walk(factory, incident_id, minute=1).to(2)
    with factory() as s, s.begin():
        response.escalate_now(s, incident_id=incident_id, actor=actor_for(org["cchead"]), now=at(2))
    walk.note()
    assert walk.timeline[2] == people("step", "netsec")


def test_escalate_now_past_the_last_step_is_a_conflict(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(31)
    with factory() as s, s.begin(), pytest.raises(Conflict):
        response.escalate_now(s, incident_id=incident_id, actor=actor_for(org["duty"]), now=at(31))


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
    assert {kind for kind, _ in without_informs(walk.timeline)[61]} == {"reopened"}


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
