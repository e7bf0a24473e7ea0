"""The audit chain: every change appends an event whose hash covers the previous one.

Nothing in Fenghuo updates or deletes an event (destroying evidence is a tier-4 offence,
5.4(c)); the database refuses it too, by trigger, on both engines. ``verify`` recomputes
the chain and names the first broken link, so an edit, a deletion or a reordering done
directly in the database is found.

Appends are serialised through the single ``audit_head`` row: on PostgreSQL it is
locked ``FOR UPDATE`` in the appending transaction, on SQLite every transaction holds
the write lock already. The head also records the newest sequence number and hash, so
deleting the last events is found as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from incidents.db import Base, UTCDateTime

SOURCES = ("web", "api", "telegram", "worker", "cli")
GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_incident", "incident_id", "seq"),
        Index("ix_audit_event_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor_login: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.data)
        return loaded


class AuditHead(Base):
    """One row: the newest sequence number and hash of the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class Actor:
    """Who did it, and through which face."""

    person_id: int | None
    login: str
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown audit source {self.source!r}")


def system_actor(source: str = "worker") -> Actor:
    return Actor(person_id=None, login="system", source=source)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def compute_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor_login: str,
    actor_id: int | None,
    source: str,
    kind: str,
    subject_type: str,
    subject_id: int | None,
    incident_id: int | None,
    data: str,
) -> str:
    body = _canonical(
        [
            seq,
            at.isoformat(),
            actor_id,
            actor_login,
            source,
            kind,
            subject_type,
            subject_id,
            incident_id,
            data,
        ]
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    subject_type: str,
    subject_id: int | None,
    data: Mapping[str, Any],
    now: datetime,
    incident_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    session.flush()
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    seq = head.seq + 1
    text = _canonical(dict(data))
    # Microseconds survive every engine, so the hash is over the value as stored.
    at = now.replace(microsecond=now.microsecond)
    digest = compute_hash(
        head.hash,
        seq=seq,
        at=at,
        actor_login=actor.login,
        actor_id=actor.person_id,
        source=actor.source,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        incident_id=incident_id,
        data=text,
    )
    event = AuditEvent(
        seq=seq,
        at=at,
        actor_id=actor.person_id,
        actor_login=actor.login,
        source=actor.source,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        incident_id=incident_id,
        data=text,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=digest))
    session.flush()
    return event


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.count} events"
        where = f"seq={self.broken_seq} (id={self.broken_id})"
        return f"audit chain broken at event {where}: {self.problem}"


def verify(session: Session, *, batch: int = 5000) -> Verification:
    """Recompute the whole chain; report the first event that does not fit."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            last_id = ev.id
            if ev.seq != expected_seq:
                problem = f"expected sequence number {expected_seq}, found {ev.seq}: " + (
                    "events are missing (deleted)" if ev.seq > expected_seq else "reordered"
                )
                return Verification(False, count, ev.seq, ev.id, problem)
            if ev.prev_hash != prev_hash:
                return Verification(
                    False, count, ev.seq, ev.id, "previous-hash link does not match (reordered)"
                )
            digest = compute_hash(
                prev_hash,
                seq=ev.seq,
                at=ev.at,
                actor_login=ev.actor_login,
                actor_id=ev.actor_id,
                source=ev.source,
                kind=ev.kind,
                subject_type=ev.subject_type,
                subject_id=ev.subject_id,
                incident_id=ev.incident_id,
                data=ev.data,
            )
            if digest != ev.hash:
                return Verification(False, count, ev.seq, ev.id, "content was edited after writing")
            prev_hash = ev.hash
            expected_seq += 1
            count += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev_hash):
        return Verification(
            False,
            count,
            count + 1,
            None,
            f"the chain head records {head.seq} events but {count} remain "
            "(the newest were deleted)",
        )
    return Verification(True, count)


# Triggers that refuse UPDATE and DELETE on the event table; installed by the migration.
PG_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_event_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only (5.4(c)): % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_immutable();
"""
SQLITE_TRIGGER_SQL = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only (5.4(c))'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only (5.4(c))'); END""",
)
