"""The audit chain: every change appends an event whose keyed hash covers the previous one.

Nothing in Fenghuo updates or deletes an event (destroying evidence is a tier-4 offence,
5.4(c)); the database refuses it too, by trigger, on both engines. Each hash is an
HMAC-SHA256 under the audit key (``config.audit_key``), which never lives in the
database: whoever can write the tables cannot recompute the chain after an edit, nor
append an event that verifies.

Appends are serialised through the single ``audit_head`` row: on PostgreSQL it is
locked ``FOR UPDATE`` in the appending transaction, on SQLite every transaction holds
the write lock already. The head records the newest sequence number and hash under a
MAC of the key, and signed checkpoints of it are written outside the database
(``incidents.audit_checkpoints``), so a cut tail is found as well. ``verify``
recomputes the chain and names the first broken or missing event.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from config.audit_key import (
    AuditKey,
    Keyring,
    checkpoint_path_from_environment,
    keyring_from_environment,
)
from incidents.audit_triggers import PG_TRIGGER_SQL as PG_TRIGGER_SQL  # for migration 0001
from incidents.audit_triggers import SQLITE_TRIGGER_SQL as SQLITE_TRIGGER_SQL
from incidents.db import Base, UTCDateTime

if TYPE_CHECKING:
    from incidents.audit_checkpoints import Checkpoint

SOURCES = ("web", "api", "telegram", "worker", "cli", "monitoring")
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
    # Which audit key made ``hash``; empty for events written before keyed hashing.
    key_id: Mapped[str] = mapped_column(String(16), default="", server_default="")

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.data)
        return loaded


class AuditHead(Base):
    """One row: the newest sequence number and hash of the chain, under the key's MAC."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), default="", server_default="")


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


# --- the key ---------------------------------------------------------------------------

_ENGINE_KEYS: weakref.WeakKeyDictionary[Engine, Keyring] = weakref.WeakKeyDictionary()
_ENGINE_CHECKPOINTS: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()
_process_keyring: list[Keyring] = []


def bind_keyring(engine: Engine, keyring: Keyring, *, checkpoints: Path | None = None) -> None:
    """Use ``keyring`` for every event written or verified through ``engine``.

    The web face binds the keyring (and checkpoint file) of its settings; an engine with
    none bound uses those of the process environment (``FENGHUO_AUDIT_KEY`` or the
    instance key file, ``FENGHUO_AUDIT_CHECKPOINTS``).
    """
    _ENGINE_KEYS[engine] = keyring
    if checkpoints is not None:
        _ENGINE_CHECKPOINTS[engine] = checkpoints


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def keyring_for(session: Session) -> Keyring:
    found = _ENGINE_KEYS.get(_engine(session))
    if found is not None:
        return found
    if not _process_keyring:
        _process_keyring.append(keyring_from_environment())
    return _process_keyring[0]


def checkpoint_path_for(session: Session) -> Path:
    """Where the checkpoints of this database are kept (as bound, or as configured)."""
    return _ENGINE_CHECKPOINTS.get(_engine(session)) or checkpoint_path_from_environment()


def head_message(seq: int, digest: str) -> str:
    return f"fenghuo audit head\n{seq}\n{digest}"


# --- the hash ----------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def compute_hash(
    prev_hash: str,
    *,
    key: AuditKey | None,
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
    """HMAC-SHA256 under ``key`` of the previous hash and the event's fields.

    ``key=None`` is the unkeyed SHA-256 of events written before keyed hashing; they
    verify only as the chain's first events, never after a keyed one.
    """
    fields: list[Any] = [
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
    if key is None:
        return hashlib.sha256((prev_hash + _canonical(fields)).encode("utf-8")).hexdigest()
    return key.mac(prev_hash + _canonical([*fields, key.key_id]))


def _event_hash(ev: AuditEvent, prev_hash: str, key: AuditKey | None) -> str:
    return compute_hash(
        prev_hash,
        key=key,
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
    key = keyring_for(session).current
    session.flush()
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS, mac="")
        session.add(head)
        session.flush()
    seq = head.seq + 1
    text = _canonical(dict(data))
    event = AuditEvent(
        seq=seq,
        # The hash is over the value as read back: UTC on every engine.
        at=now.astimezone(UTC),
        actor_id=actor.person_id,
        actor_login=actor.login,
        source=actor.source,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        incident_id=incident_id,
        data=text,
        prev_hash=head.hash,
        key_id=key.key_id,
    )
    event.hash = _event_hash(event, head.hash, key)
    session.add(event)
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=seq, hash=event.hash, mac=key.mac(head_message(seq, event.hash)))
    )
    session.flush()
    return event


# --- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""
    checkpoint: Checkpoint | None = None
    unkeyed: int = 0

    def describe(self) -> str:
        if self.ok:
            text = f"audit chain intact: {self.count} events"
            if self.checkpoint is not None:
                text += (
                    f"; anchored to the checkpoint of {self.checkpoint.at} "
                    f"(event {self.checkpoint.seq})"
                )
            else:
                text += "; no checkpoint yet (run `fenghuo audit checkpoint`)"
            if self.unkeyed:
                text += f"; the first {self.unkeyed} predate keyed hashing"
            return text
        if self.broken_seq is None:
            return f"audit chain not verified: {self.problem}"
        where = f"event {self.broken_seq}" + (
            f" (id={self.broken_id})" if self.broken_id is not None else ""
        )
        return f"audit chain broken at {where}: {self.problem}"


def verify(
    session: Session,
    *,
    checkpoints: Sequence[Checkpoint] = (),
    keyring: Keyring | None = None,
    batch: int = 5000,
) -> Verification:
    """Recompute the whole chain, its head and the checkpoints; report the first fault.

    ``checkpoints`` are read and their signatures checked by
    ``incidents.audit_checkpoints.read_checkpoints``; each must match the chain.
    """
    keys = keyring or keyring_for(session)
    anchored = {cp.seq: cp for cp in checkpoints}
    prev_hash = GENESIS
    prev_id = 0
    count = 0
    unkeyed = 0

    def broken(seq: int, ev_id: int | None, problem: str) -> Verification:
        return Verification(False, count, seq, ev_id, problem, unkeyed=unkeyed)

    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > count).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            expected = count + 1
            if ev.seq != expected:
                return broken(
                    expected, None, f"event {expected} is missing (deleted); the next is {ev.seq}"
                )
            if ev.id < prev_id:
                return broken(
                    ev.seq,
                    ev.id,
                    f"stored before event {ev.seq - 1} (id={prev_id}): the events were reordered",
                )
            key: AuditKey | None = None
            if ev.key_id:
                key = keys.by_id(ev.key_id)
                if key is None:
                    return broken(
                        ev.seq,
                        ev.id,
                        f"hashed under an unknown audit key {ev.key_id!r} (forged, or a "
                        "retired key is missing from FENGHUO_AUDIT_OLD_KEYS)",
                    )
            elif unkeyed < count:
                return broken(ev.seq, ev.id, "an unkeyed event after keyed ones (forged)")
            else:
                unkeyed += 1
            if ev.prev_hash != prev_hash:
                return broken(
                    ev.seq,
                    ev.id,
                    f"its link to event {ev.seq - 1} does not match (reordered or replaced)",
                )
            if _event_hash(ev, prev_hash, key) != ev.hash:
                return broken(
                    ev.seq, ev.id, "its content does not match its keyed hash (edited or forged)"
                )
            cp = anchored.get(ev.seq)
            if cp is not None and cp.hash != ev.hash:
                return broken(
                    ev.seq,
                    ev.id,
                    f"differs from the checkpoint of {cp.at} (the chain was rewritten)",
                )
            prev_hash = ev.hash
            prev_id = ev.id
            count += 1
    head = session.get(AuditHead, 1)
    if count and head is None:
        return broken(count + 1, None, "the chain head row is missing (deleted with the newest?)")
    if head is not None and (head.seq != count or head.hash != prev_hash):
        return broken(
            min(head.seq, count) + 1,
            None,
            f"the chain head records {head.seq} events but the chain ends at event {count} "
            "(the newest were deleted)",
        )
    if head is not None and count > unkeyed:
        message = head_message(head.seq, head.hash)
        key_macs = {k.mac(message) for k in (keys.current, *keys.retired)}
        if head.mac not in key_macs:
            return broken(
                count + 1,
                None,
                f"the chain head's MAC does not match its event {head.seq}: the head was "
                "rewritten (the newest events were cut)",
            )
    latest = max(checkpoints, key=lambda c: c.seq, default=None)
    if latest is not None and latest.seq > count:
        return broken(
            count + 1,
            None,
            f"the checkpoint of {latest.at} records {latest.seq} events but the chain ends "
            f"at event {count}: events {count + 1} to {latest.seq} were deleted",
        )
    return Verification(True, count, checkpoint=latest, unkeyed=unkeyed)
