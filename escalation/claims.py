"""Claiming outbox rows for delivery: lapsed leases first, then due rows, with a lease.

See ``escalation.outbox`` for the whole delivery; this module turns rows into
claims — the message a channel needs, the lease token, why it must be
skipped (a disabled destination, a person no longer active).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, text, update
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


def message_of(
    n: Notification, person: Person | None, address: str, secret: str = ""
) -> OutgoingMessage:
    payload = n.payload
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
    given, else of any kind but ``held_elsewhere`` and ``other_than``."""

    def due(queue: str) -> Select[Notification]:
        stmt = select(Notification).where(text(f"notification.{queue}"))
        stmt = stmt.where(Notification.next_attempt_at <= now)
        if channel is not None:
            stmt = stmt.where(Notification.channel == channel)
        # Rows of a channel that another process is sending for (the Telegram bot's
        # sender lock) are left to it. A kind no worker has stays claimable, so a
        # misconfiguration ends in retries and a hand-over, never in silence.
        excluded = [*held_elsewhere, *other_than]
        if excluded:
            stmt = stmt.where(Notification.channel.not_in(excluded))
        return stmt.order_by(Notification.next_attempt_at, Notification.id)

    postgres = session.get_bind().dialect.name == "postgresql"
    rows: list[Notification] = []
    for queue in (LEASED_NOTIFICATION, QUEUED_NOTIFICATION):
        if len(rows) >= batch:
            break
        stmt = due(queue)
        if rows:
            stmt = stmt.where(Notification.id.not_in([n.id for n in rows]))
        stmt = stmt.limit(batch - len(rows))
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows.extend(session.scalars(stmt))
    if not rows:
        return []
    person_ids = {n.person_id for n in rows if n.person_id is not None}
    people = (
        {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
        if person_ids
        else {}
    )
    dest_ids = {n.destination_id for n in rows if n.destination_id is not None}
    dests = (
        {d.id: d for d in session.scalars(select(Destination).where(Destination.id.in_(dest_ids)))}
        if dest_ids
        else {}
    )
    claims: list[Claim] = []
    for n in rows:
        if n.status == "sending":
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
        token = uuid.uuid4().hex
        n.status = "sending"
        n.attempts += 1
        n.lease_token = token
        n.leased_by = worker_id
        n.next_attempt_at = now + lease
        n.updated_at = now
        session.add(
            DeliveryAttempt(
                notification_id=n.id,
                number=n.attempts,
                worker_id=worker_id,
                lease_token=token,
                started_at=now,
                outcome="sending",
                error="",
            )
        )
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
        claims.append(Claim(n.id, token, n.channel, message, skip, now + lease))
    return claims
