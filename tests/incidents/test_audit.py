"""The audit chain: intact, and every kind of tampering found and named."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from incidents.audit import AuditEvent, record, system_actor, verify
from incidents.org import Person
from tests.conftest import T0


def _write_events(factory: sessionmaker[Session], n: int) -> None:
    with factory() as s, s.begin():
        for i in range(n):
            record(
                s,
                actor=system_actor("cli"),
                kind="test.event",
                subject_type="test",
                subject_id=i,
                data={"i": i, "text": "事件"},
                now=T0,
            )


def _seq_ids(factory: sessionmaker[Session]) -> list[tuple[int, int]]:
    with factory() as s:
        return [(e.seq, e.id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def _tamper(factory: sessionmaker[Session], sql: str, **params: object) -> None:
    """Change the table behind the application's back, past its triggers."""
    with factory() as s, s.begin():
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            s.execute(text(sql), params)
            s.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        else:
            s.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            s.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
            s.execute(text(sql), params)


def test_an_untouched_chain_verifies_with_its_count(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _write_events(any_factory, 5)
    with any_factory() as s:
        result = verify(s)
    assert result.ok
    assert result.count == len(_seq_ids(any_factory))
    assert result.count > 5


def test_the_database_refuses_to_update_an_event(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), any_factory() as s, s.begin():
        s.execute(text("UPDATE audit_event SET kind = 'x' WHERE seq = 1"))


def test_the_database_refuses_to_delete_an_event(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), any_factory() as s, s.begin():
        s.execute(text("DELETE FROM audit_event WHERE seq = 1"))


def test_an_edited_event_is_named(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 6)
    _tamper(any_factory, "UPDATE audit_event SET data = :d WHERE seq = 4", d='{"i":99}')
    with any_factory() as s:
        result = verify(s)
    assert not result.ok
    assert result.broken_seq == 4
    assert "edited" in result.problem


def test_a_deleted_event_is_named(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 6)
    _tamper(any_factory, "DELETE FROM audit_event WHERE seq = 3")
    with any_factory() as s:
        result = verify(s)
    assert not result.ok
    assert result.broken_seq == 4  # the first event after the gap
    assert "deleted" in result.problem


def test_deleting_the_newest_events_is_found_through_the_head(
    any_factory: sessionmaker[Session],
) -> None:
    _write_events(any_factory, 6)
    _tamper(any_factory, "DELETE FROM audit_event WHERE seq >= 5")
    with any_factory() as s:
        result = verify(s)
    assert not result.ok
    assert result.broken_seq == 5
    assert "newest were deleted" in result.problem


def test_reordered_events_are_named(any_factory: sessionmaker[Session]) -> None:
    _write_events(any_factory, 6)
    # Swap the contents of events 2 and 3 (sequence numbers kept in place).
    cols = "at, actor_id, actor_login, source, kind, subject_type, subject_id, incident_id, data"
    with any_factory() as s:
        rows = {
            seq: s.execute(text(f"SELECT {cols} FROM audit_event WHERE seq = :q"), {"q": seq})
            .mappings()
            .one()
            for seq in (2, 3)
        }
    for target, source in ((2, 3), (3, 2)):
        sets = ", ".join(f"{c.strip()} = :{c.strip()}" for c in cols.split(","))
        _tamper(
            any_factory, f"UPDATE audit_event SET {sets} WHERE seq = {target}", **dict(rows[source])
        )
    with any_factory() as s:
        result = verify(s)
    assert not result.ok
    assert result.broken_seq == 2
