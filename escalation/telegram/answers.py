"""The queue of answers owed by a process that must not call Telegram itself.

The webhook route runs in the web process, which never talks to Telegram (DESIGN.md
"Processes"): what the bot owes the sender of an update — a reply, a button's answer —
is written here in the request's transaction and sent by the worker's Telegram channel,
under the deployment's flood limits and sender lock. Only the process holding that lock
delivers, so rows need no claim. A temporary failure is retried with backoff (or after
Telegram's ``retry_after``); a permanent one, or the tenth failure, gives up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import ChannelError
from escalation.telegram.actions import Answer
from escalation.telegram.models import TelegramAnswer

MAX_ATTEMPTS = 10
MAX_BACKOFF = timedelta(minutes=1)


def enqueue(session: Session, owed: Iterable[Answer], now: datetime) -> int:
    """Queue ``owed`` in the caller's transaction; returns how many."""
    count = 0
    for answer in owed:
        session.add(
            TelegramAnswer(
                method=answer.method,
                chat_id=answer.chat_id,
                params=json.dumps(answer.params, ensure_ascii=False),
                created_at=now,
                due_at=now,
                attempts=0,
                last_error="",
            )
        )
        count += 1
    session.flush()
    return count


def pending(session: Session) -> list[TelegramAnswer]:
    """Answers not sent and not given up on, oldest first."""
    stmt = (
        select(TelegramAnswer)
        .where(TelegramAnswer.sent_at.is_(None), TelegramAnswer.failed_at.is_(None))
        .order_by(TelegramAnswer.id)
    )
    return list(session.scalars(stmt))


def deliver_due(
    sessions: sessionmaker[Session],
    call: Callable[[str, dict[str, Any]], None],
    now: datetime,
    *,
    batch: int = 50,
) -> int:
    """Make the calls that are due with ``call(method, params)``; returns how many went."""
    with sessions() as session:
        due = session.scalars(
            select(TelegramAnswer)
            .where(
                TelegramAnswer.sent_at.is_(None),
                TelegramAnswer.failed_at.is_(None),
                TelegramAnswer.due_at <= now,
            )
            .order_by(TelegramAnswer.id)
            .limit(batch)
        ).all()
        work = [(row.id, row.method, json.loads(row.params)) for row in due]
    sent = 0
    for row_id, method, params in work:
        error: ChannelError | None = None
        try:
            call(method, params)
        except ChannelError as exc:
            error = exc
        with sessions() as session, session.begin():
            row = session.get(TelegramAnswer, row_id)
            assert row is not None
            row.attempts += 1
            if error is None:
                row.sent_at = now
                sent += 1
            elif error.permanent or row.attempts >= MAX_ATTEMPTS:
                row.failed_at, row.last_error = now, error.reason
            else:
                wait = (
                    timedelta(seconds=error.retry_after)
                    if error.retry_after is not None
                    else min(timedelta(seconds=2**row.attempts), MAX_BACKOFF)
                )
                row.due_at, row.last_error = now + wait, error.reason
        if error is not None and not error.permanent:
            break  # Telegram is unwell: keep the order, try again on the next pass
    return sent
