"""The sweep: claim the timers that are due, fire them, write the outbox — one transaction.

Claiming is ``SELECT … WHERE status = 'pending' AND due_at <= now ORDER BY due_at LIMIT n
FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers sweep side by side, each
taking rows no other holds; on SQLite the engine opens every transaction with ``BEGIN
IMMEDIATE``, so one sweep at a time holds the write lock from its first read. Firing
marks each timer ``fired`` (or ``cancelled`` when its condition no longer holds) in the
same transaction that inserts its notification rows and its audit event: a sweep that
dies midway leaves its timers pending for the next one, and one that commits leaves
exactly one notification per (timer, person, channel) — the unique constraint says so
too. The query rides the partial index on ``due_at`` where pending, so its cost does
not grow with the number of timers waiting for later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy
from escalation.firing import Firing
from escalation.models import PENDING_TIMER, Timer
from incidents.audit import Actor, appending, system_actor


@dataclass(frozen=True)
class SweepResult:
    claimed: int
    fired: int
    cancelled: int
    notifications: int
    # The batch was full: more timers may be due right now.
    more: bool


def due_timers(session: Session, *, now: datetime, batch: int) -> list[Timer]:
    """Claim up to ``batch`` due timers, oldest first, skipping rows others hold."""
    stmt = (
        select(Timer)
        .where(text(f"timer.{PENDING_TIMER}"), Timer.due_at <= now)
        .order_by(Timer.due_at, Timer.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def next_due(session: Session) -> datetime | None:
    """When the soonest pending timer falls due (the worker wakes then, not at its next
    interval); None when none is pending. Read along the same partial index."""
    soonest: datetime | None = session.scalar(
        select(func.min(Timer.due_at)).where(text(f"timer.{PENDING_TIMER}"))
    )
    return soonest


def sweep(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    policy: Policy,
    batch: int = 500,
    actor: Actor | None = None,
) -> SweepResult:
    """Fire up to ``batch`` due timers in one transaction (see the module doc)."""
    with session_factory() as session, session.begin():
        timers = due_timers(session, now=now, batch=batch)
        if not timers:
            return SweepResult(0, 0, 0, 0, more=False)
        # Set-based: the batch's rows and the organisation are read up front, nothing
        # is flushed before a lookup, and the audit events go in under one head lock.
        with session.no_autoflush, appending(session):
            firing = Firing(session, now=now, default_tz=policy.tz)
            firing.prepare(timers)
            for timer in timers:
                firing.fire(timer)
            stats = firing.finish(actor or system_actor("worker"))
    return SweepResult(
        len(timers), stats.fired, stats.cancelled, stats.notifications, more=len(timers) == batch
    )
