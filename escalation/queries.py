"""What the faces show about an incident's clocks; reads only, plain JSON-able dicts.

Times are ISO 8601 strings in UTC; faces convert them for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from escalation import obligations as obligation_rows
from escalation.delivery_reasons import delivery_facts
from escalation.frozen import get_clock
from escalation.models import (
    DeliveryAttempt,
    EscalationChain,
    InboxItem,
    Notification,
    Obligation,
    Timer,
)
from escalation.reporting import reported_as_required
from incidents.models import Incident
from incidents.org import Person
from incidents.service import get_incident


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _obligation(ob: Obligation, now: datetime) -> dict[str, Any]:
    left = (
        (ob.due_at - now).total_seconds()
        if ob.status == "pending" and ob.due_at is not None
        else None
    )
    return {
        "id": ob.id,
        "name": ob.name,
        "to": ob.to,
        "title_zh": ob.title_zh,
        "title_en": ob.title_en,
        "from": ob.start,
        "window": ob.window,
        "grade": ob.grade,
        "due_at": _iso(ob.due_at),
        "fulfilled_at": _iso(ob.fulfilled_at),
        "status": ob.status,
        "time_left_seconds": left,
        "late_reason": ob.late_reason,
        "breached_at": _iso(ob.breached_at),
        "report_id": ob.report_id,
        "waived_reason": ob.waived_reason,
    }


def obligations_of(session: Session, incident_id: int, now: datetime) -> list[dict[str, Any]]:
    """Each report owed: deadline, status, time left (negative once overdue, until the
    breach is recorded), and the late reason of a late filing."""
    get_incident(session, incident_id)
    return [_obligation(o, now) for o in obligation_rows.of_incident(session, incident_id)]


def nearest_deadline(session: Session, incident_id: int, now: datetime) -> dict[str, Any] | None:
    """The pending obligation due soonest, or ``None``."""
    ob = obligation_rows.nearest_pending(session, incident_id)
    return _obligation(ob, now) if ob is not None else None


def handling_outcome(session: Session, incident_id: int, now: datetime) -> dict[str, Any]:
    """The handling target and whether it was met: the fact "handled promptly"
    (及时处置, 5.2(c), 5.3(b), 5.4(b)). Unresolved and past the target counts as not
    prompt already; unresolved within it is undecided (``None``)."""
    incident = get_incident(session, incident_id)
    clock = get_clock(session, incident_id)
    if clock is None:
        return {
            "handling_due_at": None,
            "resolved_at": _iso(incident.resolved_at),
            "handled_promptly": None,
        }
    prompt = clock.handled_promptly
    if prompt is None and incident.resolved_at is None and now > clock.handling_due_at:
        prompt = False
    return {
        "handling_due_at": _iso(clock.handling_due_at),
        "resolved_at": _iso(incident.resolved_at),
        "handled_promptly": prompt,
    }


def reporting_outcome(session: Session, incident_id: int, now: datetime) -> dict[str, Any]:
    """The fact "reported as required" (5.1(a), 5.2(a), 5.3(a)) at ``now``, tri-state:
    see ``escalation.reporting`` (the one place it is decided)."""
    get_incident(session, incident_id)
    return reported_as_required(session, incident_id, now).to_dict()


def _people(session: Session, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}


def escalation_state(session: Session, incident_id: int) -> dict[str, Any]:
    """The chain as frozen, every page and alert with whom it reached and how delivery
    went (channel, status, attempts, last error, fallbacks), and who acknowledged."""
    incident = get_incident(session, incident_id)
    clock = get_clock(session, incident_id)
    chains = list(
        session.scalars(
            select(EscalationChain)
            .where(EscalationChain.incident_id == incident_id)
            .order_by(EscalationChain.generation)
        )
    )
    timers = list(
        session.scalars(
            select(Timer).where(Timer.incident_id == incident_id).order_by(Timer.due_at, Timer.id)
        )
    )
    notes = list(
        session.scalars(
            select(Notification)
            .where(Notification.incident_id == incident_id)
            .order_by(Notification.id)
        )
    )
    attempts: dict[int, list[dict[str, Any]]] = {}
    if notes:
        for a in session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id.in_([n.id for n in notes]))
            .order_by(DeliveryAttempt.notification_id, DeliveryAttempt.number)
        ):
            attempts.setdefault(a.notification_id, []).append(
                {
                    "number": a.number,
                    "worker": a.worker_id,
                    "started_at": _iso(a.started_at),
                    "finished_at": _iso(a.finished_at),
                    "outcome": a.outcome,
                    "error": a.error,
                }
            )
    people = _people(
        session,
        {n.person_id for n in notes if n.person_id is not None}
        | {c.acknowledged_by_id for c in chains if c.acknowledged_by_id}
        | ({incident.acknowledged_by_id} if incident.acknowledged_by_id else set()),
    )
    fallbacks: dict[int, list[int]] = {}
    for n in notes:
        if n.fallback_of_id is not None:
            fallbacks.setdefault(n.fallback_of_id, []).append(n.id)
    by_timer: dict[int, list[dict[str, Any]]] = {}
    for n in notes:
        person = people.get(n.person_id) if n.person_id is not None else None
        by_timer.setdefault(n.timer_id, []).append(
            {
                "id": n.id,
                "person_id": n.person_id,
                "login": person.login if person else None,
                "name": person.name if person else None,
                "channel": n.channel,
                "kind": n.kind,
                "status": n.status,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "sent_at": _iso(n.sent_at),
                "fallback_of_id": n.fallback_of_id,
                "fallbacks": fallbacks.get(n.id, []),
                "history": attempts.get(n.id, []),
                # In words on the page: why, since when, delivered on which channel instead.
                **delivery_facts(n, notes, attempts.get(n.id, [])),
            }
        )

    def timer_dict(t: Timer) -> dict[str, Any]:
        return {
            "id": t.id,
            "kind": t.kind if t.kind != "notice" else t.notice,
            "due_at": _iso(t.due_at),
            "status": t.status,
            "fired_at": _iso(t.fired_at),
            "cancelled_at": _iso(t.cancelled_at),
            "cancel_reason": t.cancel_reason,
            "step": t.step_index,
            "repeat": t.repeat_index,
            "until": t.until,
            "obligation_id": t.obligation_id,
            "fraction": t.fraction,
            "note": t.note,
            "recipients": t.recipients,
            "notifications": by_timer.get(t.id, []),
        }

    def who(person_id: int | None) -> dict[str, Any] | None:
        person = people.get(person_id) if person_id is not None else None
        if person is None:
            return None
        return {"person_id": person.id, "login": person.login, "name": person.name}

    chain_dicts = []
    for c in chains:
        steps = []
        for index, step in enumerate(c.steps):
            steps.append(
                {
                    **step,
                    "index": index,
                    "timers": [
                        timer_dict(t)
                        for t in timers
                        if t.chain_id == c.id and t.step_index == index
                    ],
                }
            )
        chain_dicts.append(
            {
                "id": c.id,
                "generation": c.generation,
                "grade": c.grade,
                "reason": c.reason,
                "started_at": _iso(c.started_at),
                "acknowledged_at": _iso(c.acknowledged_at),
                "acknowledged_by": who(c.acknowledged_by_id),
                "ended_at": _iso(c.ended_at),
                "end_reason": c.end_reason,
                "steps": steps,
            }
        )
    return {
        "incident_id": incident_id,
        "grade": incident.grade,
        "frozen": clock.snapshot if clock is not None else None,
        "reporter_category": clock.reporter_category if clock is not None else None,
        "acknowledged_at": _iso(incident.acknowledged_at),
        "acknowledged_by": who(incident.acknowledged_by_id),
        "current_chain_id": next((c.id for c in reversed(chains) if c.ended_at is None), None),
        "chains": chain_dicts,
        "alerts": [timer_dict(t) for t in timers if t.kind in ("warning", "breach")],
        "notices": [timer_dict(t) for t in timers if t.kind == "notice"],
        "delivery": {
            status: sum(1 for n in notes if n.status == status)
            for status in ("pending", "sending", "sent", "failed")
        },
    }


def inbox(
    session: Session, person_id: int, *, unread_only: bool = False, limit: int = 50
) -> list[dict[str, Any]]:
    """The person's in-app notices, newest first."""
    stmt = (
        select(InboxItem, Incident.number)
        .join(Incident, Incident.id == InboxItem.incident_id)
        .where(InboxItem.person_id == person_id)
        .order_by(InboxItem.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if unread_only:
        stmt = stmt.where(InboxItem.read_at.is_(None))
    return [
        {
            "id": item.id,
            "incident_id": item.incident_id,
            "incident_number": number,
            "kind": item.kind,
            "text_zh": item.text_zh,
            "text_en": item.text_en,
            "created_at": _iso(item.created_at),
            "read_at": _iso(item.read_at),
        }
        for item, number in session.execute(stmt).all()
    ]


def unread_count(session: Session, person_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.person_id == person_id, InboxItem.read_at.is_(None))
    )
    return int(session.scalar(stmt) or 0)


def mark_read(
    session: Session, *, person_id: int, now: datetime, item_ids: Sequence[int] | None = None
) -> int:
    """Mark the person's items read (all unread when ``item_ids`` is None); return how
    many changed. Someone else's items are never touched."""
    stmt = (
        update(InboxItem)
        .where(InboxItem.person_id == person_id, InboxItem.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    if item_ids is not None:
        stmt = stmt.where(InboxItem.id.in_(list(item_ids)))
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
