"""Starting an incident's clocks, and the bookkeeping shared by the use cases.

``start`` freezes the grade's policy, creates the obligations with their alerts, starts
the chain and fires its first step if it is due at once — all in the caller's
transaction, so the incident never exists without its clocks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.policy import Policy
from escalation import obligations
from escalation.chains import start_chain
from escalation.firing import Firing
from escalation.frozen import freeze, get_clock, grade_policy, zone
from escalation.models import IncidentClock, Obligation, Timer
from incidents.audit import Actor, record
from incidents.models import Incident


def start(
    session: Session, incident: Incident, policy: Policy, *, actor: Actor, now: datetime
) -> IncidentClock:
    """Freeze the policy into ``incident`` and start every clock it sets."""
    clock = freeze(session, incident, policy, now)
    gp = grade_policy(clock)
    for spec in gp.obligations:
        ob = obligations.create(
            session,
            incident=incident,
            spec=spec,
            reporter_category=clock.reporter_category,
            grade=incident.grade,
            now=now,
        )
        obligations.schedule_alerts(session, ob, warn_at=gp.warn_at, now=now)
    planned(session, incident, clock, actor=actor, now=now, kind="obligations.planned")
    chain, due = start_chain(
        session,
        incident_id=incident.id,
        grade=incident.grade,
        gp=gp,
        started_at=now,
        reason="opened",
        now=now,
    )
    record(
        session,
        actor=actor,
        kind="escalation.chain_started",
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        now=now,
        data={"generation": chain.generation, "grade": chain.grade, "reason": chain.reason},
    )
    firing = Firing(session, now=now, default_tz=zone(clock))
    for timer in due:
        firing.fire(timer)
    firing.finish(actor)
    return clock


def ensure(
    session: Session, incident: Incident, policy: Policy, *, actor: Actor, now: datetime
) -> IncidentClock:
    """The incident's clocks, started now if it was logged without them."""
    clock = get_clock(session, incident.id)
    if clock is None:
        clock = start(session, incident, policy, actor=actor, now=now)
    return clock


def planned(
    session: Session,
    incident: Incident,
    clock: IncidentClock,
    *,
    actor: Actor,
    now: datetime,
    kind: str,
    extra: dict[str, object] | None = None,
) -> None:
    """Audit the deadlines as they now stand (an obligation's change is evidence)."""
    record(
        session,
        actor=actor,
        kind=kind,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        now=now,
        data={
            "grade": clock.grade,
            "reporter_category": clock.reporter_category,
            "handling_due_at": clock.handling_due_at.isoformat(),
            "obligations": [
                {
                    "name": o.name,
                    "status": o.status,
                    "due_at": o.due_at.isoformat() if o.due_at else None,
                }
                for o in obligations.of_incident(session, incident.id)
            ],
            **(extra or {}),
        },
    )


def settle_breaches(session: Session, incident: Incident, firing: Firing) -> None:
    """Fire the breach timers already due, so a regrade sees every breach that happened."""
    due = session.scalars(
        select(Timer)
        .join(Obligation, Obligation.id == Timer.obligation_id)
        .where(
            Timer.incident_id == incident.id,
            Timer.kind == "breach",
            Timer.status == "pending",
            Timer.due_at <= firing.now,
            Obligation.status == "pending",
        )
        .order_by(Timer.due_at, Timer.id)
    ).all()
    for timer in due:
        firing.fire(timer)
