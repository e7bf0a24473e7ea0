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

A use case that records several events (logging an incident records four) appends them
inside ``appending``: the head is locked once, the events are hashed in the order
recorded and written with one INSERT, and the head advances event by event in one
executemany UPDATE, before the block ends and before any commit.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy import event as orm_events
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import Pool

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
    from incidents.permissions import Capabilities

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
    """Who did it, and through which face.

    ``caps`` are the person's capabilities when the face has already computed them in
    this request's transaction, having checked the person is active (the API's token
    check, the web's session check): the use case's guard takes them instead of
    computing them a second time. Never set by anything that outlives the request.
    """

    person_id: int | None
    login: str
    source: str
    caps: Capabilities | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown audit source {self.source!r}")


def system_actor(source: str = "worker") -> Actor:
    return Actor(person_id=None, login="system", source=source)


# --- the key ---------------------------------------------------------------------------

# Keyed by the engine's pool, which the engine shares with its option engines
# (incidents.db.reads_only): a GET's session signs and verifies with the same keys.
_ENGINE_KEYS: weakref.WeakKeyDictionary[Pool, Keyring] = weakref.WeakKeyDictionary()
_ENGINE_CHECKPOINTS: weakref.WeakKeyDictionary[Pool, Path] = weakref.WeakKeyDictionary()
_process_keyring: list[Keyring] = []


def bind_keyring(engine: Engine, keyring: Keyring, *, checkpoints: Path | None = None) -> None:
    """Use ``keyring`` for every event written or verified through ``engine``.

    The web face binds the keyring (and checkpoint file) of its settings; an engine with
    none bound uses those of the process environment (``FENGHUO_AUDIT_KEY`` or the
    instance key file, ``FENGHUO_AUDIT_CHECKPOINTS``).
    """
    _ENGINE_KEYS[engine.pool] = keyring
    if checkpoints is not None:
        _ENGINE_CHECKPOINTS[engine.pool] = checkpoints


def _pool(session: Session) -> Pool:
    bind = session.get_bind()
    return (bind if isinstance(bind, Engine) else bind.engine).pool


def keyring_for(session: Session) -> Keyring:
    found = _ENGINE_KEYS.get(_pool(session))
    if found is not None:
        return found
    if not _process_keyring:
        _process_keyring.append(keyring_from_environment())
    return _process_keyring[0]


def checkpoint_path_for(session: Session) -> Path:
    """Where the checkpoints of this database are kept (as bound, or as configured)."""
    return _ENGINE_CHECKPOINTS.get(_pool(session)) or checkpoint_path_from_environment()


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
    """Append one event to the chain inside the caller's transaction.

    Inside :func:`appending` the event joins the batch written when the batch ends (or
    before the transaction commits); otherwise it is written at once.
    """
    key = keyring_for(session).current
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None and session.in_nested_transaction():
        # A savepoint may roll back: its events go in with it, one by one.
        batch.write(session)
        batch.forget_head()
        batch = None
    if batch is None:
        session.flush()
        prev_seq, prev_hash = _lock_head(session)
    else:
        prev_seq, prev_hash = batch.head(session)
    seq = prev_seq + 1
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
        data=_canonical(dict(data)),
        prev_hash=prev_hash,
        key_id=key.key_id,
    )
    event.hash = _event_hash(event, prev_hash, key)
    if batch is not None:
        batch.append(event, key)
        return event
    session.add(event)
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=seq, hash=event.hash, mac=key.mac(head_message(seq, event.hash)))
    )
    session.flush()
    return event


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row (``FOR UPDATE``) and read it; create it for an empty chain."""
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).first()
    if head is None:
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS, mac=""))
        return 0, GENESIS
    return int(head.seq), str(head.hash)


_BATCH = "fenghuo.audit_batch"


class _Batch:
    """The events of one use case, hashed in order, written together under one head lock.

    The head is locked once, at the first event; the events go in with one
    multi-row INSERT, and the head advances with one executemany UPDATE of one row per
    event, so the trigger that lets it move only one event at a time still holds.
    """

    def __init__(self) -> None:
        self._head: tuple[int, str] | None = None
        self._pending: list[tuple[AuditEvent, AuditKey]] = []

    def head(self, session: Session) -> tuple[int, str]:
        if self._head is None:
            self._head = _lock_head(session)
        return self._head

    def forget_head(self) -> None:
        self._head = None

    def append(self, event: AuditEvent, key: AuditKey) -> None:
        self._pending.append((event, key))
        self._head = (event.seq, event.hash)

    def discard(self) -> None:
        self._pending = []
        self._head = None

    def write(self, session: Session) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        columns = AuditEvent.__table__.columns.keys()
        rows = [{name: getattr(ev, name) for name in columns if name != "id"} for ev, _ in pending]
        # Every row with the same keys (NULLs rendered), so they go in as one INSERT in
        # the order recorded: ids rise with seq, which ``verify`` checks.
        session.execute(insert(AuditEvent).execution_options(render_nulls=True), rows)
        heads = [
            {"s": ev.seq, "h": ev.hash, "m": key.mac(head_message(ev.seq, ev.hash))}
            for ev, key in pending
        ]
        # One row per event through the head's trigger (it moves one event at a time).
        head_table = cast(Table, AuditHead.__table__)
        session.execute(
            update(head_table)
            .where(head_table.c.id == 1)
            .values(seq=bindparam("s"), hash=bindparam("h"), mac=bindparam("m")),
            heads,
        )


@contextmanager
def appending(session: Session) -> Iterator[None]:
    """Batch the events recorded inside: one head lock, one INSERT, one head advance.

    The chain stays strictly ordered (each event is hashed over the one before, in
    the order recorded) and the events are written before the block ends, so they are
    in the transaction before any side effect it commits to. A commit inside the block
    writes the batch first (see ``_write_before_commit``). Nested blocks join the outer.
    """
    if _BATCH in session.info:
        yield
        return
    batch = _Batch()
    session.info[_BATCH] = batch
    try:
        yield
    except BaseException:
        del session.info[_BATCH]
        # Whatever was done before the error stays audited should the caller keep the
        # transaction; if the write fails the transaction is lost anyway, and the first
        # error is the one to report.
        if session.is_active:
            with suppress(Exception):
                batch.write(session)
        raise
    del session.info[_BATCH]
    batch.write(session)


@orm_events.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None:
        batch.write(session)
        batch.forget_head()  # the lock ends with the transaction


@orm_events.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None and not session.in_transaction():
        batch.discard()


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
