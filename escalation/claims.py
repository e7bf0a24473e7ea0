"""Claiming outbox rows for delivery: lapsed leases first, then due rows, with a lease.

See ``escalation.outbox`` for the whole delivery; this module turns rows into
claims — the message a channel needs, the lease token, why it must be
skipped (a disabled destination, a person no longer active).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from escalation.channels.base import OutgoingMessage
from escalation.models import (
    LEASED_NOTIFICATION,
    QUEUED_NOTIFICATION,
    DeliveryAttempt,
    Destination,
    Notification,
)
from incidents.org import Person


@dataclass(frozen=True)
class Claim:
    notification_id: int
    token: str
    channel: str
    message: OutgoingMessage
    skip_reason: str = ""
    leased_until: datetime | None = None


class _Row(Protocol):
    """What :func:`message_of` reads of a notification (an ORM row or a Core one)."""

    @property
    def id(self) -> int: ...
    @property
    def incident_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def text_zh(self) -> str: ...
    @property
    def text_en(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def receipt_id(self) -> int | None: ...
    @property
    def payload_json(self) -> str: ...


def message_of(
    n: _Row, person: _Person | Person | None, address: str, secret: str = ""
) -> OutgoingMessage:
    payload = json.loads(n.payload_json)
    about = payload.get("obligation") or payload.get("deadline") or {}
    due = about.get("due_at")
    return OutgoingMessage(
        notification_id=n.id,
        incident_id=n.incident_id,
        incident_number=str(payload.get("number", "")),
        grade=str(payload.get("grade", "")),
        category=str(payload.get("category", "")),
        title=str(payload.get("title", "")),
        recipient_person_id=person.id if person is not None else None,
        recipient_login=person.login if person is not None else "",
        recipient_language=person.language if person is not None else "zh_CN",
        destination_address=address,
        kind=n.kind,
        text_zh=n.text_zh,
        text_en=n.text_en,
        link_path=str(payload.get("link_path", f"/incidents/{n.incident_id}")),
        deadline_name=about.get("name"),
        deadline_title_zh=about.get("title_zh"),
        deadline_title_en=about.get("title_en"),
        deadline_at=datetime.fromisoformat(due) if due else None,
        step=payload.get("step"),
        attempt=n.attempts,
        receipt_id=n.receipt_id,
        report_id=payload.get("report_id"),
        destination_secret=secret,
    )


@dataclass(frozen=True)
class _Person:
    id: int
    login: str
    language: str
    active: bool


@dataclass(frozen=True)
class _Destination:
    id: int
    address: str
    secret: str
    enabled: bool
    disabled_reason: str


_COLUMNS = (
    "id",
    "incident_id",
    "person_id",
    "destination_id",
    "channel",
    "kind",
    "status",
    "attempts",
    "lease_token",
    "leased_by",
    "receipt_id",
    "payload_json",
    "text_zh",
    "text_en",
)


def claim_rows(
    session: Session,
    *,
    now: datetime,
    worker_id: str,
    batch: int,
    lease: timedelta,
    held_elsewhere: Sequence[str] = (),
    channel: str | None = None,
    other_than: Sequence[str] = (),
) -> list[Claim]:
    """Claim up to ``batch`` due rows, lapsed leases first: of ``channel`` only when
    given, else of any kind but ``held_elsewhere`` and ``other_than``.

    Core statements, a handful per claim whatever its size: the rows (``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL), their people and destinations, one UPDATE of all of them
    (an executemany: each its own lease token and attempt number) and one INSERT of
    their attempt rows. (No ORM objects: the write-backs of the same transaction read
    the rows afresh.)"""
    notes = _table(Notification)
    columns = [notes.c[name] for name in _COLUMNS]

    def due(queue: str) -> Select[Any]:
        stmt = select(*columns).where(text(f"notification.{queue}"))
        stmt = stmt.where(notes.c.next_attempt_at <= now)
        if channel is not None:
            stmt = stmt.where(notes.c.channel == channel)
        # Rows of a channel that another process is sending for (the Telegram bot's
        # sender lock) are left to it. A kind no worker has stays claimable, so a
        # misconfiguration ends in retries and a hand-over, never in silence.
        excluded = [*held_elsewhere, *other_than]
        if excluded:
            stmt = stmt.where(notes.c.channel.not_in(excluded))
        return stmt.order_by(notes.c.next_attempt_at, notes.c.id)

    postgres = session.get_bind().dialect.name == "postgresql"
    rows: list[Any] = []
    for queue in (LEASED_NOTIFICATION, QUEUED_NOTIFICATION):
        if len(rows) >= batch:
            break
        stmt = due(queue)
        if rows:
            stmt = stmt.where(notes.c.id.not_in([n.id for n in rows]))
        stmt = stmt.limit(batch - len(rows))
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows.extend(session.execute(stmt).all())
    if not rows:
        return []
    person_ids = {n.person_id for n in rows if n.person_id is not None}
    people = {
        p.id: _Person(p.id, p.login, p.language, p.active)
        for p in (
            session.execute(
                select(Person.id, Person.login, Person.language, Person.active).where(
                    Person.id.in_(person_ids)
                )
            )
            if person_ids
            else []
        )
    }
    dest_ids = {n.destination_id for n in rows if n.destination_id is not None}
    dests = {
        d.id: _Destination(d.id, d.address, d.secret, d.enabled, d.disabled_reason)
        for d in (
            session.execute(
                select(
                    Destination.id,
                    Destination.address,
                    Destination.secret,
                    Destination.enabled,
                    Destination.disabled_reason,
                ).where(Destination.id.in_(dest_ids))
            )
            if dest_ids
            else []
        )
    }
    for n in rows:
        if n.status == "sending":  # a lapsed lease taken over: close its open attempt
            session.execute(
                update(DeliveryAttempt)
                .where(
                    DeliveryAttempt.notification_id == n.id,
                    DeliveryAttempt.lease_token == n.lease_token,
                    DeliveryAttempt.outcome == "sending",
                )
                .values(
                    outcome="lease_expired",
                    finished_at=now,
                    error=f"lease held by {n.leased_by} lapsed",
                )
                .execution_options(synchronize_session=False)
            )
    tokens = {n.id: uuid.uuid4().hex for n in rows}
    connection = session.connection()
    connection.execute(
        update(notes)
        .where(notes.c.id == bindparam("nid"))
        .values(
            status="sending",
            attempts=bindparam("number"),
            lease_token=bindparam("tok"),
            leased_by=worker_id,
            next_attempt_at=now + lease,
            updated_at=now,
        ),
        [{"nid": n.id, "number": n.attempts + 1, "tok": tokens[n.id]} for n in rows],
    )
    connection.execute(
        insert(_table(DeliveryAttempt)),
        [
            {
                "notification_id": n.id,
                "number": n.attempts + 1,
                "worker_id": worker_id,
                "lease_token": tokens[n.id],
                "started_at": now,
                "outcome": "sending",
                "error": "",
            }
            for n in rows
        ],
    )
    claims: list[Claim] = []
    for row in rows:
        n = _Claimed(**{**row._asdict(), "attempts": row.attempts + 1})
        person = people.get(n.person_id) if n.person_id is not None else None
        dest = dests.get(n.destination_id) if n.destination_id is not None else None
        skip = ""
        if dest is not None and not dest.enabled:
            skip = f"destination disabled: {dest.disabled_reason}"
        elif person is not None and not person.active:
            skip = "the person is no longer active"
        elif person is None and dest is None:
            skip = "a group notice without its destination"
        address = dest.address if dest is not None else (person.login if person else "")
        message = message_of(n, person, address, dest.secret if dest is not None else "")
        claims.append(Claim(n.id, tokens[n.id], n.channel, message, skip, now + lease))
    return claims


@dataclass(frozen=True)
class _Claimed:
    """A claimed row as read, with its attempt number counted."""

    id: int
    incident_id: int
    person_id: int | None
    destination_id: int | None
    channel: str
    kind: str
    status: str
    attempts: int
    lease_token: str | None
    leased_by: str | None
    receipt_id: int | None
    payload_json: str
    text_zh: str
    text_en: str


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
