"""Heartbeats: each part that pages says it is alive, and how it is.

One row per name in ``heartbeat`` (``escalation.models.Heartbeat``): ``worker:<id>``,
``bot:<bot id>``, ``channel:<kind>``. :func:`beat` is an upsert — one ``UPDATE`` in the
steady state — and keeps the start of a failure by compare-and-set in SQL
(``COALESCE(failing_since, now)``), so concurrent beats never move it. What the rows
mean together is read by ``escalation.health``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from escalation.models import Heartbeat

KINDS = ("worker", "bot", "channel")
# Rows of processes that died without saying goodbye are dropped after this.
FORGET_AFTER = timedelta(days=1)


def beat(
    session: Session,
    *,
    name: str,
    kind: str,
    now: datetime,
    started_at: datetime,
    healthy: bool = True,
    detail: str = "",
    host: str = "",
    pid: int | None = None,
) -> None:
    """Record that ``name`` is alive at ``now`` (an upsert, one statement when the row
    exists). ``failing_since`` is set by the first unhealthy beat and kept by the next
    ones (compare-and-set in SQL: ``COALESCE``), and cleared by a healthy one."""
    if kind not in KINDS:
        raise ValueError(f"heartbeat kind must be one of {', '.join(KINDS)}, got {kind!r}")
    detail = detail[:200]
    values = {
        "beat_at": now,
        "healthy": healthy,
        "detail": detail,
        "host": host[:120],
        "pid": pid,
        "started_at": started_at,
        "failing_since": (None if healthy else func.coalesce(Heartbeat.failing_since, now)),
    }
    changed = session.execute(
        update(Heartbeat)
        .where(Heartbeat.name == name)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount:  # type: ignore[attr-defined]
        return
    row = Heartbeat(
        name=name,
        kind=kind,
        host=host[:120],
        pid=pid,
        started_at=started_at,
        beat_at=now,
        healthy=healthy,
        failing_since=None if healthy else now,
        detail=detail,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process inserted it in between: update theirs
        session.execute(
            update(Heartbeat)
            .where(Heartbeat.name == name)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def forget(session: Session, name: str) -> None:
    """Remove ``name``'s row (a process stopping cleanly)."""
    session.execute(delete(Heartbeat).where(Heartbeat.name == name))


def forget_dead(session: Session, *, now: datetime, kind: str) -> int:
    """Drop ``kind`` rows that have not beaten for :data:`FORGET_AFTER`."""
    result = session.execute(
        delete(Heartbeat).where(Heartbeat.kind == kind, Heartbeat.beat_at < now - FORGET_AFTER)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
