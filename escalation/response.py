"""The use cases that start or stop clocks; every face (web, API, CLI, Telegram) calls these.

Each takes the session (the caller owns the transaction), the actor, ``now`` and, where
the clocks may need the policy, ``policy``; each checks the actor's right to act and
raises ``Forbidden``, ``Conflict``, ``ValidationError`` or ``NotFound``. State changes
are compare-and-set, so a double tap or a concurrent worker is harmless.

``regrade`` lives in ``escalation.regrade`` and ``file_report`` in
``escalation.filing``; both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from config.policy import Policy, parse_duration
from escalation import clocks, obligations
from escalation.chains import (
    acknowledge_chain,
    cancel_steps,
    current_chain,
    end_chain,
    start_chain,
)
from escalation.escalate import EscalationResult, escalate_now
from escalation.filing import file_report
from escalation.firing import Firing
from escalation.frozen import get_clock, grade_policy, zone
from escalation.guard import (
    lock,
    require_acknowledge,
    require_handle,
    require_handle_or_lead,
    require_log,
)
from escalation.messages import Notice
from escalation.regrade import RegradeResult, regrade
from incidents import lifecycle
from incidents.audit import Actor, appending, record
from incidents.errors import Conflict
from incidents.inputs import IncidentInput
from incidents.models import Incident
from incidents.org import Person
from incidents.service import change_status, create_incident, get_incident

__all__ = [
    "AckResult",
    "EscalationResult",
    "RegradeResult",
    "acknowledge",
    "close",
    "escalate_now",
    "file_report",
    "open_incident",
    "regrade",
    "reopen",
    "resolve",
    "start_handling",
    "transition",
]


@dataclass(frozen=True)
class AckResult:
    incident: Incident
    changed: bool


def _name(session: Session, actor: Actor) -> str:
    person = session.get(Person, actor.person_id) if actor.person_id is not None else None
    return person.name if person is not None else actor.login


def _firing(session: Session, incident: Incident, now: datetime) -> Firing:
    clock = get_clock(session, incident.id)
    return Firing(session, now=now, default_tz=zone(clock) if clock is not None else UTC)


def open_incident(
    session: Session, *, data: IncidentInput, actor: Actor, now: datetime, policy: Policy
) -> Incident:
    """Log an incident and start its clocks; the first step pages in this transaction.

    The use case's audit events (the incident, its deadlines, the chain, the first
    pages) are appended together, under one lock of the chain's head."""
    require_log(session, actor, now)
    with session.no_autoflush, appending(session):
        incident = create_incident(session, data=data, actor=actor, now=now, tz=policy.tz)
        clocks.start(session, incident, policy, actor=actor, now=now, new_incident=True)
    return incident


def acknowledge(session: Session, *, incident_id: int, actor: Actor, now: datetime) -> AckResult:
    """Acknowledge: compare-and-set ``acknowledged_at IS NULL`` on the incident, and on the
    running chain (an upgrade's new chain needs acknowledging again); cancels the chain's
    ``until = "acknowledged"`` pages in the same transaction. A second acknowledgement
    changes nothing and is no error. The reporting deadlines keep running."""
    incident = lock(session, incident_id)
    require_acknowledge(session, actor, incident, now)
    changed = False
    previous = incident.status
    result = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.acknowledged_at.is_(None))
        .values(
            acknowledged_at=now,
            acknowledged_by_id=actor.person_id,
            status=case((Incident.status == "new", "acknowledged"), else_=Incident.status),
            updated_at=now,
            version=Incident.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        changed = True
        session.refresh(incident)
        record(
            session,
            actor=actor,
            kind="incident.acknowledged",
            subject_type="incident",
            subject_id=incident_id,
            incident_id=incident_id,
            now=now,
            data={"from": previous, "to": incident.status, "reason": ""},
        )
    chain = current_chain(session, incident_id)
    if chain is not None and acknowledge_chain(session, chain, person_id=actor.person_id, now=now):
        changed = True
        record(
            session,
            actor=actor,
            kind="escalation.acknowledged",
            subject_type="incident",
            subject_id=incident_id,
            incident_id=incident_id,
            now=now,
            data={"generation": chain.generation, "grade": chain.grade},
        )
        firing = _firing(session, incident, now)
        firing.notice(
            incident,
            Notice(
                "acknowledged",
                actor_name=_name(session, actor),
                deadline=firing.nearest(incident_id),
            ),
            exclude=actor.person_id,
        )
        firing.finish(actor)
    return AckResult(incident=incident, changed=changed)


def start_handling(session: Session, *, incident_id: int, actor: Actor, now: datetime) -> Incident:
    """Begin handling; whoever starts handling has seen it, so it acknowledges too."""
    incident = lock(session, incident_id)
    require_handle(session, actor, now, "handle incidents")
    lifecycle.check(incident.status, "handling")
    chain = current_chain(session, incident_id)
    if incident.acknowledged_at is None or (chain is not None and chain.acknowledged_at is None):
        acknowledge(session, incident_id=incident_id, actor=actor, now=now)
    return change_status(session, incident_id=incident_id, to="handling", actor=actor, now=now)


def resolve(
    session: Session,
    *,
    incident_id: int,
    actor: Actor,
    now: datetime,
    policy: Policy,
    summary: str = "",
) -> Incident:
    """Handling ends: every page stops, the handling target's outcome is recorded
    ("handled promptly"), and the obligations counted from resolution (Art. 8) start."""
    incident = lock(session, incident_id)
    require_handle(session, actor, now, "resolve incidents")
    clock = clocks.ensure(session, incident, policy, actor=actor, now=now)
    incident = change_status(
        session, incident_id=incident_id, to="resolved", actor=actor, now=now, reason=summary
    )
    chain = current_chain(session, incident_id)
    if chain is not None:
        end_chain(session, chain, reason="resolved", now=now, informs=False)
    cancel_steps(session, incident_id=incident_id, reason="resolved", now=now, informs=False)
    assert incident.resolved_at is not None
    clock.handled_promptly = incident.resolved_at <= clock.handling_due_at
    clock.updated_at = now
    gp = grade_policy(clock)
    for ob in obligations.of_incident(session, incident_id):
        if ob.start == "resolved" and ob.status == "pending" and ob.due_at is None:
            ob.due_at = incident.resolved_at + parse_duration(ob.window, key="window")
            ob.updated_at = now
            obligations.schedule_alerts(session, ob, warn_at=gp.warn_at, now=now)
    clocks.planned(
        session,
        incident,
        clock,
        actor=actor,
        now=now,
        kind="obligations.planned",
        extra={"handled_promptly": clock.handled_promptly},
    )
    firing = Firing(session, now=now, default_tz=zone(clock))
    firing.notice(
        incident,
        Notice("resolved", actor_name=_name(session, actor), detail=summary),
        exclude=actor.person_id,
    )
    firing.finish(actor)
    return incident


def close(
    session: Session, *, incident_id: int, actor: Actor, now: datetime, reason: str = ""
) -> Incident:
    """Close; refused while any report is owed (pending, or missed and not yet filed)."""
    incident = lock(session, incident_id)
    require_handle(session, actor, now, "close incidents")
    lifecycle.check(incident.status, "closed")
    owed = obligations.unfulfilled(session, incident_id)
    if owed:
        listed = ", ".join(
            f"{o.title_en} ({o.status}" + (f", due {o.due_at.isoformat()})" if o.due_at else ")")
            for o in owed
        )
        raise Conflict(
            "cannot close while reports are owed: %(listed)s; file them first",
            field="status",
            code="obligations_pending",
            params={"listed": listed},
        )
    incident = change_status(
        session, incident_id=incident_id, to="closed", actor=actor, now=now, reason=reason
    )
    cancel_steps(session, incident_id=incident_id, reason="closed", now=now, informs=False)
    return incident


def reopen(
    session: Session,
    *,
    incident_id: int,
    reason: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    """Reopen a resolved or closed incident: the final report waits for the next
    resolution, "handled promptly" is open again, and the chain runs again (from the
    frozen snapshot) acknowledged by whoever reopened it, so only its ``reported`` and
    ``resolved`` steps page; everyone notified before is told."""
    incident = lock(session, incident_id)
    require_handle_or_lead(session, actor, now, "reopen incidents")
    clock = clocks.ensure(session, incident, policy, actor=actor, now=now)
    incident = change_status(
        session, incident_id=incident_id, to="reopened", actor=actor, now=now, reason=reason
    )
    clock.handled_promptly = None
    clock.updated_at = now
    waiting = [
        o
        for o in obligations.of_incident(session, incident_id)
        if o.start == "resolved" and o.status == "pending"
    ]
    obligations.cancel_alerts(session, [o.id for o in waiting], reason="reopened", now=now)
    for ob in waiting:
        ob.due_at = None
        ob.updated_at = now
    clocks.planned(session, incident, clock, actor=actor, now=now, kind="obligations.planned")
    chain, due = start_chain(
        session,
        incident_id=incident_id,
        grade=clock.grade,
        gp=grade_policy(clock),
        started_at=now,
        reason="reopened",
        now=now,
        acknowledged_at=now,
        acknowledged_by_id=actor.person_id,
    )
    record(
        session,
        actor=actor,
        kind="escalation.chain_started",
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
        now=now,
        data={"generation": chain.generation, "grade": chain.grade, "reason": chain.reason},
    )
    firing = Firing(session, now=now, default_tz=zone(clock))
    for timer in due:
        firing.fire(timer)
    firing.notice(
        incident,
        Notice("reopened", actor_name=_name(session, actor), detail=reason),
        exclude=actor.person_id,
    )
    firing.finish(actor)
    return incident


def transition(
    session: Session,
    *,
    incident_id: int,
    to: str,
    reason: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    """Move to status ``to`` through the use case that owns it."""
    if to == "acknowledged":
        return acknowledge(session, incident_id=incident_id, actor=actor, now=now).incident
    if to == "handling":
        return start_handling(session, incident_id=incident_id, actor=actor, now=now)
    if to == "resolved":
        return resolve(
            session,
            incident_id=incident_id,
            actor=actor,
            now=now,
            policy=policy,
            summary=reason or "",
        )
    if to == "closed":
        return close(session, incident_id=incident_id, actor=actor, now=now, reason=reason or "")
    if to == "reopened":
        return reopen(
            session,
            incident_id=incident_id,
            reason=reason or "",
            actor=actor,
            now=now,
            policy=policy,
        )
    incident = get_incident(session, incident_id)
    lifecycle.check(incident.status, to, reason)  # raises: unknown or not a target
    raise Conflict(
        "cannot move to %(to)s", field="to", code="illegal_transition", params={"to": to}
    )
