"""Secret calendar feed addresses: one per person, stored as a SHA-256 only, rotatable.

A phone calendar cannot log in, so the person's duty feed (``app.web.calendar_feed``) is
read through an unguessable address, ``/calendar/<secret>.ics``. Like an API token
(``incidents.tokens``) the secret is shown once, when it is made, and only its digest is
kept; looking a request up by the digest of what it presents means the comparison never
runs over the secret itself, so response times say nothing about how close a guess was.
Rotating revokes the old address at once (it answers 404 from then on) and is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from incidents.audit import Actor, record
from incidents.db import Base, UTCDateTime
from incidents.errors import NotFound
from incidents.org import Person
from incidents.rosters import ROLES, Shift, scheduled_between, shifts_between

SECRET_BYTES = 32  # 256 bits, url-safe base64: 43 characters


class CalendarFeed(Base):
    """One feed address of a person; at most one is unrevoked at a time."""

    __tablename__ = "calendar_feed"
    __table_args__ = (Index("ix_calendar_feed_person", "person_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))  # shown so a person tells addresses apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def current_feed(session: Session, person_id: int) -> CalendarFeed | None:
    """The person's live feed address (its digest and prefix), or ``None``."""
    return session.scalars(
        select(CalendarFeed)
        .where(CalendarFeed.person_id == person_id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id.desc())
        .limit(1)
    ).first()


def rotate_feed(
    session: Session, *, person_id: int, actor: Actor, now: datetime
) -> tuple[str, CalendarFeed]:
    """Make a new feed secret for the person, revoking the one before; the clear secret
    is returned once and never stored."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(
            "no person with id %(id)s",
            field="person_id",
            code="person_id.no_person",
            params={"id": person_id},
        )
    revoked = []
    for old in session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.person_id == person_id, CalendarFeed.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
        revoked.append(old.prefix)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    row = CalendarFeed(
        person_id=person_id, secret_hash=digest(secret), prefix=secret[:6], created_at=now
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        kind="account.calendar_feed.rotated",
        subject_type="person",
        subject_id=person_id,
        data={"feed_id": row.id, "prefix": row.prefix, "revoked": revoked},
        now=now,
    )
    return secret, row


def person_for_feed(session: Session, secret: str) -> Person | None:
    """The active person whose live feed secret is ``secret``, or ``None``."""
    if not secret or len(secret) > 128:
        return None
    row = session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.secret_hash == digest(secret), CalendarFeed.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    person = session.get(Person, row.person_id)
    return person if person is not None and person.active else None


def shifts_of_person(
    session: Session, person_id: int, start: datetime, end: datetime
) -> list[Shift]:
    """The person's shifts of every roster over ``[start, end)``, oldest first, one per
    shift: a calendar shows one event per shift.

    ``shifts_between`` joins a person's consecutive pieces of duty into one stretch;
    stretches the rotation gives are cut again at its handoffs here, so each day (or
    each day and night) is its own event. An override stays one event, however long.
    """
    out: list[Shift] = []
    for role in ROLES:
        pieces = [p for p in shifts_between(session, role, start, end) if p.person_id == person_id]
        if not pieces:
            continue
        slots = scheduled_between(session, role, start, end)
        for piece in pieces:
            if piece.override_id is not None:
                out.append(piece)
                continue
            out.extend(_cut_at_handoffs(piece, slots))
    out.sort(key=lambda s: (s.starts_at, ROLES.index(s.role)))
    return out


def _cut_at_handoffs(piece: Shift, slots: list[Shift]) -> list[Shift]:
    """``piece`` cut where the rotation's slots end, each part with its slot's holiday;
    a stretch no slot covers stays as it is."""
    parts: list[Shift] = []
    at = piece.starts_at
    for slot in slots:
        if slot.ends_at <= at or slot.starts_at >= piece.ends_at:
            continue
        if slot.starts_at > at:
            parts.append(replace(piece, starts_at=at, ends_at=slot.starts_at))
            at = slot.starts_at
        until = min(slot.ends_at, piece.ends_at)
        parts.append(replace(piece, starts_at=at, ends_at=until, holiday=slot.holiday))
        at = until
    if at < piece.ends_at:
        parts.append(replace(piece, starts_at=at))
    return parts
