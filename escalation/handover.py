"""Handing a notice on: the next destination, then the next person up, in bounded time.

A person's notice goes first to the first of their enabled destinations (``enqueue``);
that row's fallback clock (``notification.fallback_since``) starts when it is written.
If the row is not ``sent`` within the policy's ``outbox.fallback_after`` — it failed, or
it is still pending, retrying or in flight — the notice is handed on:

1. to the person's next enabled destination in ``priority`` order whose kind has no row
   for this (timer, person) yet — a new notification with ``fallback_of_id`` and a fresh
   clock of its own. The unique key is (timer, person, channel), so a second
   destination of a kind already tried is passed over: one notice reaches one
   destination per kind, never the same one twice;
2. when no destination is left, to the next person up (``fallback.fall_back`` →
   ``Resolver.next_up``), whose first destination starts its own clock.

The row handed on is not cancelled: it keeps retrying, so a channel that comes back
still delivers (nothing is lost), and only to its own destination. Group notifications
(no person) and the inbox never hand on. A row that fails before its clock runs out is
handed on at once, by the write-back (``outbox``).

:func:`hand_on_overdue` runs in every worker round. Its query reads the partial index
``ix_notification_fallback`` (rows whose clock runs, a handful among a million sent
rows), locks with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so workers share the work,
and clears each clock in the transaction that writes the next row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy, format_duration
from escalation.enqueue import INBOX, enabled_in_order, upsert_ignore
from escalation.fallback import fall_back
from escalation.models import AWAITING_FALLBACK, QUEUED_NOTIFICATION, Notification
from incidents.audit import record, system_actor


@dataclass
class HandoverResult:
    handed_on: int = 0
    rows: int = 0
    more: bool = False


def hand_on_overdue(
    factory: sessionmaker[Session], *, now: datetime, policy: Policy, batch: int = 200
) -> HandoverResult:
    """Hand on every notice whose fallback clock ran out by ``now`` (up to ``batch``)."""
    cutoff = now - policy.outbox.fallback_after
    result = HandoverResult()
    with factory() as session, session.begin():
        stmt = (
            select(Notification)
            .where(
                text(f"notification.{AWAITING_FALLBACK}"),
                Notification.fallback_since <= cutoff,
                text(f"notification.{QUEUED_NOTIFICATION}"),
            )
            .order_by(Notification.fallback_since, Notification.id)
            .limit(batch)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        overdue = list(session.scalars(stmt))
        wait = format_duration(policy.outbox.fallback_after)
        for n in overdue:
            why = f"not delivered within {wait}" + (f" ({n.last_error})" if n.last_error else "")
            result.rows += hand_on(session, n, reason=why, now=now)
            result.handed_on += 1
    result.more = len(overdue) == batch
    return result


def hand_on(session: Session, n: Notification, *, reason: str, now: datetime) -> int:
    """Give ``n``'s notice to the next destination of its person, or to the next person
    up when none is left; stop ``n``'s fallback clock. Returns the rows written."""
    n.fallback_since = None
    if n.person_id is None or n.channel == INBOX:
        # A group's notice: the step's people are reached anyway. The inbox failing
        # (a database fault) sends the notice one up, as before.
        return fall_back(session, n, reason, now)
    tried = set(
        session.scalars(
            select(Notification.channel).where(
                Notification.timer_id == n.timer_id, Notification.person_id == n.person_id
            )
        )
    )
    for kind, destination_id in enabled_in_order(session, n.person_id):
        if kind in tried:
            continue
        written = session.execute(
            upsert_ignore(session)
            .values(
                incident_id=n.incident_id,
                timer_id=n.timer_id,
                person_id=n.person_id,
                channel=kind,
                destination_id=destination_id,
                kind=n.kind,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
                fallback_of_id=n.id,
                fallback_since=now,
                receipt_id=n.receipt_id,
                payload_json=n.payload_json,
                text_zh=n.text_zh,
                text_en=n.text_en,
                created_at=now,
                updated_at=now,
            )
            .returning(Notification.id)
        ).scalar()
        if written is None:  # a row of that kind appeared meanwhile: try the next
            tried.add(kind)
            continue
        record(
            session,
            actor=system_actor("worker"),
            kind="notification.fallback",
            subject_type="notification",
            subject_id=n.id,
            incident_id=n.incident_id,
            now=now,
            data={
                "person_id": n.person_id,
                "from": n.channel,
                "to": kind,
                "notification": written,
                "reason": reason,
            },
        )
        return 1
    channels = sorted(tried - {INBOX}) or [n.channel]
    return fall_back(session, n, reason, now, channels=channels)


def handed_on(session: Session, n: Notification) -> bool:
    """Whether ``n``'s notice has been handed on already (a row names it its origin)."""
    found = session.scalar(
        select(Notification.id)
        .where(Notification.incident_id == n.incident_id, Notification.fallback_of_id == n.id)
        .limit(1)
    )
    return found is not None
