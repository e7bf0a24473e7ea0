"""Escalate now: a person asks for the chain's next step at once (goalert#3085, OnCall #1077).

The next step is the first *page* step after the highest page step that has paged
(inform steps tell leaders on their own clock and are not escalated to). It fires now even if an
acknowledgement had cancelled its pages — a person asked for it — and the steps after it
keep their times. Past the last step there is nothing more to escalate to: a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.chains import current_chain, next_page_step
from escalation.firing import Firing
from escalation.frozen import get_clock, zone
from escalation.guard import lock, require_acknowledge
from escalation.models import Timer
from incidents.audit import Actor, record
from incidents.errors import Conflict
from incidents.models import Incident


@dataclass(frozen=True)
class EscalationResult:
    incident: Incident
    step: int
    recipients: list[dict[str, Any]]


def escalate_now(
    session: Session, *, incident_id: int, actor: Actor, now: datetime
) -> EscalationResult:
    """Fire the chain's next step at once, even if its pages were cancelled by an
    acknowledgement: a person asked for it. Later steps keep their times."""
    incident = lock(session, incident_id)
    require_acknowledge(session, actor, incident, now)
    if not incident.is_open:
        raise Conflict(
            "the incident is %(status)s; nothing to escalate",
            field="status",
            code="status.incident_nothing_escalate",
            params={"status": incident.status},
        )
    chain = current_chain(session, incident_id)
    if chain is None:
        raise Conflict(
            "the incident has no running escalation chain",
            field="chain",
            code="chain.incident_has_no_running",
        )
    fired = session.scalars(
        select(Timer.step_index).where(
            Timer.chain_id == chain.id, Timer.kind == "step", Timer.status == "fired"
        )
    ).all()
    step = next_page_step(chain.steps, [i for i in fired if i is not None])
    if step is None:
        raise Conflict(
            "everyone in the chain has been paged; there is no further step",
            field="chain",
            code="chain_exhausted",
        )
    timer = session.scalars(
        select(Timer).where(
            Timer.chain_id == chain.id,
            Timer.step_index == step,
            Timer.repeat_index == 0,
            Timer.status == "pending",
        )
    ).first()
    if timer is None:
        timer = Timer(
            incident_id=incident_id,
            kind="step",
            due_at=now,
            status="pending",
            chain_id=chain.id,
            step_index=step,
            repeat_index=0,
            until=chain.steps[step].get("until", "acknowledged"),
            cancel_reason="",
            note="",
            created_at=now,
        )
        session.add(timer)
        session.flush()
    timer.note = f"escalated now by {actor.login}"
    clock = get_clock(session, incident_id)
    firing = Firing(session, now=now, default_tz=zone(clock) if clock is not None else UTC)
    firing.fire(timer, force=True)
    record(
        session,
        actor=actor,
        kind="escalation.escalated_now",
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
        now=now,
        data={"generation": chain.generation, "step": step, "timer": timer.id},
    )
    firing.finish(actor)
    return EscalationResult(incident=incident, step=step, recipients=timer.recipients)
