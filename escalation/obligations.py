"""Reporting obligations: one row per report owed, with its deadline and its alerts.

``due_at = <from event> + within`` (docs/policy.md): counted from detection (发现或获知,
CAC measures Art. 4) at once, from resolution (Art. 8) when the incident is resolved.
Each pending obligation has a warning timer at every ``warn_at`` fraction of its window
still ahead, and one breach timer at ``due_at``. Filing the report cancels them; a
breach marks the obligation ``missed`` — the fact "not reported as required" (未按要求
上报, 5.1(a), 5.2(a), 5.3(a)) — and filing afterwards makes it ``late``, with a reason.
Nothing turns ``missed`` or ``late`` back into ``met``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.policy import ObligationSpec, format_duration, parse_duration
from escalation.models import FULFILLED, Obligation, Timer
from incidents.models import Incident

UNFULFILLED = ("pending", "missed")


def of_incident(session: Session, incident_id: int) -> list[Obligation]:
    stmt = select(Obligation).where(Obligation.incident_id == incident_id).order_by(Obligation.id)
    return list(session.scalars(stmt))


def unfulfilled(session: Session, incident_id: int) -> list[Obligation]:
    """Reports still owed: pending, or missed and not yet filed late."""
    return [o for o in of_incident(session, incident_id) if o.status in UNFULFILLED]


def of_incidents(session: Session, incident_ids: Sequence[int]) -> dict[int, list[Obligation]]:
    """Every obligation of each of ``incident_ids``, in id order, in one statement (a
    sweep's batch reads its incidents' deadlines at once)."""
    out: dict[int, list[Obligation]] = {i: [] for i in incident_ids}
    if not out:
        return out
    stmt = select(Obligation).where(Obligation.incident_id.in_(out)).order_by(Obligation.id)
    for ob in session.scalars(stmt):
        out[ob.incident_id].append(ob)
    return out


def initial_done(session: Session, incident_id: int) -> bool:
    """Every obligation counted from detection has a filing (or is waived): the
    ``until = "reported"`` condition."""
    return initial_done_of(of_incident(session, incident_id))


def initial_done_of(obs: Sequence[Obligation]) -> bool:
    """:func:`initial_done` of one incident's obligations already read."""
    return all(o.status in FULFILLED for o in obs if o.start == "detected")


def nearest_of(obs: Sequence[Obligation]) -> Obligation | None:
    """:func:`nearest_pending` of one incident's obligations already read."""
    pending = [(o.due_at, o.id, o) for o in obs if o.status == "pending" and o.due_at is not None]
    return min(pending, key=lambda t: (t[0], t[1]), default=(None, None, None))[2]


def nearest_pending(session: Session, incident_id: int) -> Obligation | None:
    """The pending obligation with the earliest deadline."""
    stmt = (
        select(Obligation)
        .where(
            Obligation.incident_id == incident_id,
            Obligation.status == "pending",
            Obligation.due_at.is_not(None),
        )
        .order_by(Obligation.due_at, Obligation.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def start_event(incident: Incident, start: str) -> datetime | None:
    """When the window of an obligation counted from ``start`` opens, if it has."""
    if start == "detected":
        return incident.detected_at
    if incident.status in ("resolved", "closed") and incident.resolved_at is not None:
        return incident.resolved_at
    return None


def create(
    session: Session,
    *,
    incident: Incident,
    spec: ObligationSpec,
    reporter_category: str,
    grade: str,
    now: datetime,
) -> Obligation:
    window = spec.window(reporter_category)
    opened = start_event(incident, spec.start)
    ob = Obligation(
        incident_id=incident.id,
        name=spec.name,
        to=spec.to,
        title_zh=spec.title_zh,
        title_en=spec.title_en,
        start=spec.start,
        window=format_duration(window),
        grade=grade,
        due_at=opened + window if opened is not None else None,
        status="pending",
        late_reason="",
        waived_reason="",
        created_at=now,
        updated_at=now,
    )
    session.add(ob)
    session.flush()
    return ob


def cancel_alerts(
    session: Session, obligation_ids: Sequence[int], *, reason: str, now: datetime
) -> int:
    """Cancel the pending warning and breach timers of these obligations."""
    if not obligation_ids:
        return 0
    result = session.execute(
        update(Timer)
        .where(
            Timer.obligation_id.in_(list(obligation_ids)),
            Timer.kind.in_(("warning", "breach")),
            Timer.status == "pending",
        )
        .values(status="cancelled", cancelled_at=now, cancel_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def schedule_alerts(
    session: Session, ob: Obligation, *, warn_at: Sequence[float], now: datetime
) -> list[Timer]:
    """(Re)plan an obligation's warnings and breach from its ``due_at`` and window.

    Warnings whose moment has passed are left out (an incident logged late is not
    warned three times at once); the breach timer is always planned, and one already
    due fires at the next sweep.
    """
    cancel_alerts(session, [ob.id], reason="replanned", now=now)
    if ob.due_at is None or ob.status != "pending":
        return []
    window = parse_duration(ob.window, key=f"obligation[{ob.id}].window")
    opened = ob.due_at - window
    timers: list[Timer] = []
    for fraction in warn_at:
        at = opened + window * fraction
        if at > now:
            timers.append(
                Timer(
                    incident_id=ob.incident_id,
                    kind="warning",
                    due_at=at,
                    status="pending",
                    obligation_id=ob.id,
                    fraction=fraction,
                    cancel_reason="",
                    note="",
                    created_at=now,
                )
            )
    timers.append(
        Timer(
            incident_id=ob.incident_id,
            kind="breach",
            due_at=ob.due_at,
            status="pending",
            obligation_id=ob.id,
            cancel_reason="",
            note="",
            created_at=now,
        )
    )
    session.add_all(timers)
    session.flush()
    return timers


def mark_missed(session: Session, ob: Obligation, *, now: datetime) -> bool:
    """Compare-and-set ``pending → missed`` once its deadline has passed."""
    if ob.due_at is None or ob.due_at > now:
        return False
    result = session.execute(
        update(Obligation)
        .where(Obligation.id == ob.id, Obligation.status == "pending")
        # The breach happened at the deadline, not when a sweep noticed it (a worker
        # back after an outage must not move the moment of breach to its restart).
        .values(status="missed", breached_at=ob.due_at, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(ob)
    return True


def fulfil(
    session: Session, ob: Obligation, *, report_id: int, late_reason: str, now: datetime
) -> str:
    """Record the filing against ``ob``: ``met`` by the deadline, ``late`` after it."""
    status = (
        "late" if ob.status == "missed" or (ob.due_at is not None and now > ob.due_at) else ("met")
    )
    result = session.execute(
        update(Obligation)
        .where(Obligation.id == ob.id, Obligation.status.in_(UNFULFILLED))
        .values(
            status=status,
            fulfilled_at=now,
            report_id=report_id,
            late_reason=late_reason if status == "late" else "",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return ob.status
    cancel_alerts(session, [ob.id], reason="report filed", now=now)
    session.refresh(ob)
    return status
