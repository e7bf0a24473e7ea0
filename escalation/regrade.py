"""Regrading: the new grade's policy frozen in, deadlines recomputed, the chain rerun.

- **Upgrade** — deadlines are recomputed from the original detection time with the new
  grade's windows and can only come earlier (``min`` of old and new); obligations the
  new grade adds are created, already breached if their deadline has passed; the
  handling target tightens the same way; the running chain ends and the new grade's
  chain starts from the moment of the upgrade, first step at once (it must be
  acknowledged again, by someone at the new grade's level).
- **Downgrade** — first every breach already due is settled, then: obligations that
  are met, late or missed stay exactly as they are (a downgrade never erases a breach or
  a late filing); pending ones take the lower grade's window from detection, and those
  the lower grade does not owe at all are ``waived``, with the reason; the chain goes
  on with the lower grade's steps from its original start, without paging anyone again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from config.policy import Policy, format_duration, parse_duration
from escalation import clocks, obligations
from escalation.chains import current_chain, end_chain, start_chain
from escalation.firing import Firing
from escalation.frozen import refreeze, zone
from escalation.guard import lock, require_handle_or_lead
from escalation.models import IncidentClock
from incidents.audit import Actor, record
from incidents.models import Incident
from incidents.service import change_grade


@dataclass(frozen=True)
class RegradeResult:
    incident: Incident
    previous: str
    upgraded: bool
    downgraded: bool


def regrade(
    session: Session,
    *,
    incident_id: int,
    grade: str,
    reason: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> RegradeResult:
    """Change the grade and recompute the clocks (see the module doc)."""
    incident = lock(session, incident_id)
    require_handle_or_lead(session, actor, now, "regrade incidents")
    clock = clocks.ensure(session, incident, policy, actor=actor, now=now)
    firing = Firing(session, now=now, default_tz=zone(clock))
    clocks.settle_breaches(session, incident, firing)
    result = change_grade(
        session, incident_id=incident_id, grade=grade, reason=reason, actor=actor, now=now
    )
    incident = result.incident
    new = policy.grade(grade)
    refreeze(clock, grade, new, now)
    specs = {spec.name: spec for spec in new.obligations}
    for ob in obligations.of_incident(session, incident_id):
        spec = specs.pop(ob.name, None)
        if ob.status != "pending":
            continue  # met, late, missed, waived: never rewritten
        if spec is None:
            if result.downgraded:
                ob.status = "waived"
                ob.waived_reason = f"not owed at grade {grade} (downgraded: {reason})"
                ob.updated_at = now
                obligations.cancel_alerts(session, [ob.id], reason="waived", now=now)
            continue
        window = spec.window(clock.reporter_category)
        opened = obligations.start_event(incident, spec.start)
        candidate = opened + window if opened is not None else None
        tighter = candidate is not None and (ob.due_at is None or candidate < ob.due_at)
        if result.downgraded or tighter:
            ob.window, ob.due_at, ob.grade = format_duration(window), candidate, grade
        elif candidate is None and window < parse_duration(ob.window, key="window"):
            ob.window, ob.grade = format_duration(window), grade
        ob.updated_at = now
        obligations.schedule_alerts(session, ob, warn_at=new.warn_at, now=now)
    for spec in specs.values():
        ob = obligations.create(
            session,
            incident=incident,
            spec=spec,
            reporter_category=clock.reporter_category,
            grade=grade,
            now=now,
        )
        obligations.schedule_alerts(session, ob, warn_at=new.warn_at, now=now)
    _handling_target(
        clock_due=incident.detected_at + new.handling_target,
        incident=incident,
        upgraded=result.upgraded,
        clock=clock,
        now=now,
    )
    clocks.planned(
        session,
        incident,
        clock,
        actor=actor,
        now=now,
        kind="obligations.replanned",
        extra={"from": result.previous, "to": grade},
    )
    chain = current_chain(session, incident_id)
    if result.upgraded and incident.is_open:
        if chain is not None:
            end_chain(session, chain, reason=f"upgraded to {grade}", now=now)
        chain, due = start_chain(
            session,
            incident_id=incident_id,
            grade=grade,
            gp=new,
            started_at=now,
            reason="upgraded",
            now=now,
        )
        _chain_started(session, actor, incident_id, chain.generation, grade, "upgraded", now)
        for timer in due:
            firing.fire(timer)
    elif result.downgraded and chain is not None:
        end_chain(session, chain, reason=f"downgraded to {grade}", now=now)
        chain, _ = start_chain(
            session,
            incident_id=incident_id,
            grade=grade,
            gp=new,
            started_at=chain.started_at,
            reason="downgraded",
            now=now,
            acknowledged_at=chain.acknowledged_at,
            acknowledged_by_id=chain.acknowledged_by_id,
            only_future=True,
        )
        _chain_started(session, actor, incident_id, chain.generation, grade, "downgraded", now)
    firing.finish(actor)
    return RegradeResult(incident, result.previous, result.upgraded, result.downgraded)


def _handling_target(
    *,
    clock_due: datetime,
    incident: Incident,
    upgraded: bool,
    clock: IncidentClock,
    now: datetime,
) -> None:
    """An upgrade only tightens the target; a downgrade relaxes it unless already missed."""
    breached = clock.handled_promptly is False or (
        incident.resolved_at is None and now > clock.handling_due_at
    )
    if upgraded:
        clock.handling_due_at = min(clock.handling_due_at, clock_due)
    elif not breached:
        clock.handling_due_at = clock_due
    if incident.resolved_at is not None and incident.status in ("resolved", "closed"):
        clock.handled_promptly = incident.resolved_at <= clock.handling_due_at
    clock.updated_at = now


def _chain_started(
    session: Session,
    actor: Actor,
    incident_id: int,
    generation: int,
    grade: str,
    why: str,
    now: datetime,
) -> None:
    record(
        session,
        actor=actor,
        kind="escalation.chain_started",
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
        now=now,
        data={"generation": generation, "grade": grade, "reason": why},
    )
