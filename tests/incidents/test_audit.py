"""The audit chain: intact, and every kind of tampering found and named (5.4(c)).

Each tampering case is done the way someone with write access to the database would do
it (triggers out of the way), on both engines; ``verify`` must name the event.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from config.audit_key import AuditKey, Keyring
from incidents.audit import (
    AuditEvent,
    AuditHead,
    Verification,
    bind_keyring,
    compute_hash,
    keyring_for,
    record,
    system_actor,
    verify,
)
from incidents.audit_checkpoints import (
    CheckpointError,
    read_checkpoints,
    write_checkpoint,
)
from incidents.org import Person
from tests.conftest import T0

GUESSED = AuditKey(b"an attacker's guess at the key, 32+ chars")


def _write_events(factory: sessionmaker[Session], n: int, start: int = 0) -> None:
    with factory() as s, s.begin():
        for i in range(start, start + n):
            record(
                s,
                actor=system_actor("cli"),
                kind="test.event",
                subject_type="test",
                subject_id=i,
                data={"i": i, "text": "事件"},
                now=T0 + timedelta(seconds=i),
            )


def _verify(factory: sessionmaker[Session], checkpoints: Path | None = None) -> Verification:
    with factory() as s:
        keys = keyring_for(s)
        found = read_checkpoints(checkpoints, keys) if checkpoints else []
        return verify(s, checkpoints=found)


def _checkpoint(factory: sessionmaker[Session], path: Path) -> None:
    with factory() as s, s.begin():
        write_checkpoint(s, path, now=T0 + timedelta(hours=1))


def _tamper(factory: sessionmaker[Session], *statements: str, **params: object) -> None:
    """Change the tables behind the application's back, past their triggers."""
    with factory() as s, s.begin():
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for name in s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")):
                s.execute(text(f'DROP TRIGGER "{name}"'))
        for sql in statements:
            s.execute(text(sql), params)


def _head(factory: sessionmaker[Session]) -> tuple[int, str, str]:
    with factory() as s:
        head = s.get(AuditHead, 1)
        assert head is not None
        return head.seq, head.hash, head.mac


def _rehash(factory: sessionmaker[Session], from_seq: int, key: AuditKey | None) -> None:
    """Recompute every hash from ``from_seq`` on, as a forger without the real key must."""
    with factory() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    prev = events[from_seq - 2].hash if from_seq > 1 else "0" * 64
    updates = []
    for ev in events[from_seq - 1 :]:
        digest = compute_hash(
            prev,
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
        updates.append(
            f"UPDATE audit_event SET prev_hash = '{prev}', hash = '{digest}' WHERE seq = {ev.seq}"
        )
        prev = digest
    last = events[-1].seq
    _tamper(factory, *updates, f"UPDATE audit_head SET seq = {last}, hash = '{prev}'")


# --- intact --------------------------------------------------------------------------------


def test_an_untouched_chain_verifies_with_its_count(
    any_factory: sessionmaker[Session], any_org: dict[str, Person], tmp_path: Path
) -> None:
    _write_events(any_factory, 5)
    result = _verify(any_factory)
    assert result.ok, result.describe()
    assert result.count > 5
    _checkpoint(any_factory, tmp_path / "cp.jsonl")
    anchored = _verify(any_factory, tmp_path / "cp.jsonl")
    assert anchored.ok
    assert "anchored to the checkpoint" in anchored.describe()


def test_every_hash_is_keyed_and_names_its_key(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 2)
    with any_factory() as s:
        keys = keyring_for(s)
        first = s.scalars(select(AuditEvent).where(AuditEvent.seq == 1)).one()
    assert first.key_id == keys.current.key_id
    unkeyed = compute_hash(
        first.prev_hash,
        key=None,
        seq=1,
        at=first.at,
        actor_login=first.actor_login,
        actor_id=first.actor_id,
        source=first.source,
        kind=first.kind,
        subject_type=first.subject_type,
        subject_id=first.subject_id,
        incident_id=first.incident_id,
        data=first.data,
    )
    assert first.hash != unkeyed


# --- the database refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET kind = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = seq - 1",
    ],
)
def test_the_database_refuses_to_rewrite_the_chain(
    any_factory: sessionmaker[Session], sql: str
) -> None:
    _write_events(any_factory, 3)
    refused = r"append-only|only moves forward"
    with pytest.raises(DBAPIError, match=refused), any_factory() as s, s.begin():
        s.execute(text(sql))


def test_postgresql_refuses_to_truncate_the_chain(pg_url: str) -> None:
    from incidents.db import make_engine, make_sessionmaker

    engine = make_engine(pg_url)
    try:
        _write_events(make_sessionmaker(engine), 1)
        for table in ("audit_event", "audit_head"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE"))
    finally:
        engine.dispose()


# --- tampering, each case named ----------------------------------------------------------------


def test_an_edited_event_is_named(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 6)
    _tamper(any_factory, "UPDATE audit_event SET data = :d WHERE seq = 4", d='{"i":99}')
    result = _verify(any_factory)
    assert not result.ok
    assert result.broken_seq == 4
    assert "edited" in result.problem


@pytest.mark.parametrize("forger_key", [None, GUESSED], ids=["unkeyed", "guessed-key"])
def test_an_edit_with_every_later_hash_recomputed_is_named(
    any_factory: sessionmaker[Session], forger_key: AuditKey | None
) -> None:
    _write_events(any_factory, 6)
    _tamper(any_factory, "UPDATE audit_event SET data = :d WHERE seq = 4", d='{"i":99}')
    if forger_key is None:
        _tamper(any_factory, "UPDATE audit_event SET key_id = '' WHERE seq >= 4")
    _rehash(any_factory, 4, forger_key)
    result = _verify(any_factory)
    assert not result.ok
    assert result.broken_seq == 4
    assert "forged" in result.problem


def test_an_appended_forged_event_with_a_computed_hash_is_named(
    any_factory: sessionmaker[Session],
) -> None:
    _write_events(any_factory, 3)
    seq, last_hash, _mac = _head(any_factory)
    with any_factory() as s:
        key_id = keyring_for(s).current.key_id
    forged = compute_hash(
        last_hash,
        key=GUESSED,
        seq=seq + 1,
        at=T0,
        actor_login="director",
        actor_id=None,
        source="web",
        kind="incident.closed",
        subject_type="incident",
        subject_id=1,
        incident_id=1,
        data="{}",
    )
    _tamper(
        any_factory,
        "INSERT INTO audit_event (seq, at, actor_login, source, kind, subject_type, subject_id,"
        " incident_id, data, prev_hash, hash, key_id) VALUES (:seq, :at, 'director', 'web',"
        " 'incident.closed', 'incident', 1, 1, '{}', :prev, :hash, :key)",
        f"UPDATE audit_head SET seq = {seq + 1}, hash = '{forged}'",
        seq=seq + 1,
        at=T0.replace(tzinfo=None),
        prev=last_hash,
        hash=forged,
        key=key_id,
    )
    result = _verify(any_factory)
    assert not result.ok
    assert result.broken_seq == seq + 1
    assert "forged" in result.problem


def test_a_deleted_event_is_named(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 6)
    _tamper(any_factory, "DELETE FROM audit_event WHERE seq = 3")
    result = _verify(any_factory)
    assert not result.ok
    assert result.broken_seq == 3
    assert "missing" in result.problem


def test_deleting_the_head_alone_is_found(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 4)
    _tamper(any_factory, "DELETE FROM audit_head")
    result = _verify(any_factory)
    assert not result.ok
    assert result.broken_seq == 5
    assert "head row is missing" in result.problem


def test_deleting_the_newest_events_and_the_head_is_found(
    any_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _write_events(any_factory, 6)
    _checkpoint(any_factory, tmp_path / "cp.jsonl")
    _tamper(any_factory, "DELETE FROM audit_event WHERE seq >= 5", "DELETE FROM audit_head")
    for checkpoints in (None, tmp_path / "cp.jsonl"):
        result = _verify(any_factory, checkpoints)
        assert not result.ok
        assert result.broken_seq == 5


def test_cutting_the_tail_and_pointing_the_head_at_the_new_last_event_is_found(
    any_factory: sessionmaker[Session],
) -> None:
    _write_events(any_factory, 6)
    with any_factory() as s:
        fourth = s.scalars(select(AuditEvent).where(AuditEvent.seq == 4)).one().hash
    _tamper(
        any_factory,
        "DELETE FROM audit_event WHERE seq >= 5",
        f"UPDATE audit_head SET seq = 4, hash = '{fourth}'",
    )
    result = _verify(any_factory)
    assert not result.ok
    assert result.broken_seq == 5
    assert "head was rewritten" in result.problem


def test_a_cut_tail_with_an_old_genuine_head_put_back_is_caught_by_the_checkpoint(
    any_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _write_events(any_factory, 4)
    old_seq, old_hash, old_mac = _head(any_factory)
    _write_events(any_factory, 3, start=4)
    _checkpoint(any_factory, tmp_path / "cp.jsonl")
    _tamper(
        any_factory,
        f"DELETE FROM audit_event WHERE seq > {old_seq}",
        f"UPDATE audit_head SET seq = {old_seq}, hash = '{old_hash}', mac = '{old_mac}'",
    )
    assert _verify(any_factory).ok  # the database alone is fooled
    result = _verify(any_factory, tmp_path / "cp.jsonl")
    assert not result.ok
    assert result.broken_seq == old_seq + 1
    assert "were deleted" in result.problem


def test_two_swapped_events_are_reported_as_reordered(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 6)
    cols = [
        "seq",
        "at",
        "actor_id",
        "actor_login",
        "source",
        "kind",
        "subject_type",
        "subject_id",
        "incident_id",
        "data",
        "prev_hash",
        "hash",
        "key_id",
    ]
    with any_factory() as s:
        rows = {
            seq: dict(
                s.execute(
                    text(f"SELECT id, {', '.join(cols)} FROM audit_event WHERE seq = :q"),
                    {"q": seq},
                )
                .mappings()
                .one()
            )
            for seq in (2, 3)
        }
    statements = ["UPDATE audit_event SET seq = -seq WHERE seq IN (2, 3)"]
    params: dict[str, object] = {}
    for target, source in ((2, 3), (3, 2)):
        sets = ", ".join(f"{c} = :{c}_{target}" for c in cols)
        statements.append(f"UPDATE audit_event SET {sets} WHERE id = {rows[target]['id']}")
        params.update({f"{c}_{target}": rows[source][c] for c in cols})
    _tamper(any_factory, *statements, **params)
    result = _verify(any_factory)
    assert not result.ok
    assert result.broken_seq == 3
    assert "reordered" in result.problem


# --- checkpoints and keys ----------------------------------------------------------------------


def test_the_checkpoint_file_only_grows_and_an_edited_line_is_refused(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "cp.jsonl"
    _write_events(factory, 2)
    _checkpoint(factory, path)
    _write_events(factory, 2, start=2)
    _checkpoint(factory, path)
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text(lines[0].replace('"seq":2', '"seq":3') + "\n" + lines[1] + "\n")
    with factory() as s, pytest.raises(CheckpointError, match="line 1: the signature"):
        read_checkpoints(path, keyring_for(s))
    path.write_text(lines[1] + "\n" + lines[0] + "\n")
    with factory() as s, pytest.raises(CheckpointError, match="line 2: goes back"):
        read_checkpoints(path, keyring_for(s))


def test_a_broken_chain_is_never_anchored(factory: sessionmaker[Session], tmp_path: Path) -> None:
    _write_events(factory, 3)
    _tamper(factory, "UPDATE audit_event SET data = '{}' WHERE seq = 2")
    with pytest.raises(CheckpointError, match="event 2"):
        _checkpoint(factory, tmp_path / "cp.jsonl")
    assert (tmp_path / "cp.jsonl").read_text() == ""


def test_events_under_a_retired_key_verify_while_it_is_listed(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    old = AuditKey(b"the key before the rotation, 32 chars+")
    new = AuditKey(b"the key after the rotation, 32 chars++")
    bind_keyring(engine, Keyring(old))
    _write_events(factory, 2)
    bind_keyring(engine, Keyring(new, (old,)))
    _write_events(factory, 2, start=2)
    with factory() as s:
        assert verify(s).ok
        lost = verify(s, keyring=Keyring(new))
    assert not lost.ok
    assert lost.broken_seq == 1
    assert "unknown audit key" in lost.problem


def test_a_writer_with_a_slower_clock_keeps_the_file_in_order(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "cp.jsonl"
    _write_events(factory, 2)
    _checkpoint(factory, path)  # at T0 + 1 h
    with factory() as s, s.begin():
        write_checkpoint(s, path, now=T0)  # a host whose clock is behind
    with factory() as s:
        found = read_checkpoints(path, keyring_for(s))
    assert [cp.at for cp in found] == [found[0].at, found[0].at]
