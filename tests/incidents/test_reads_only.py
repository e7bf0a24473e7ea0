"""Units of work that only read (a GET's session, ``incidents.db.reads_only``) on SQLite:
they begin deferred, so they never hold the write lock that readers and the worker
would queue behind, and a write in one is refused at once."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from config.audit_key import AuditKey, Keyring
from incidents.audit import bind_keyring, keyring_for
from incidents.db import make_sessionmaker, reads_only
from incidents.models import Incident


def _writer(engine: Engine) -> sqlite3.Connection:
    """A plain connection that gives up at once when the write lock is held."""
    path = engine.url.database
    assert path is not None
    return sqlite3.connect(path, timeout=0, isolation_level=None)


def test_a_reading_transaction_leaves_the_write_lock_free(engine: Engine) -> None:
    reading = make_sessionmaker(reads_only(engine))
    with reading() as s, s.begin():
        s.scalars(select(Incident.id)).all()  # the transaction is open, and has read
        other = _writer(engine)
        try:
            other.execute("BEGIN IMMEDIATE")  # would fail at once behind BEGIN IMMEDIATE
            other.execute("INSERT INTO incident_counter (year, last) VALUES (1999, 1)")
            other.execute("COMMIT")
        finally:
            other.close()
        with reading() as t, t.begin():  # and another reader beside it
            assert t.scalar(text("SELECT last FROM incident_counter WHERE year = 1999")) == 1


def test_a_write_in_a_reading_transaction_is_refused_and_the_next_may_write(
    engine: Engine,
) -> None:
    reading = make_sessionmaker(reads_only(engine))
    with reading() as s, s.begin(), pytest.raises(OperationalError, match="readonly"):
        s.execute(text("INSERT INTO incident_counter (year, last) VALUES (1998, 1)"))
    # The same pooled connection writes again once used by an ordinary unit of work.
    with make_sessionmaker(engine)() as s, s.begin():
        s.execute(text("INSERT INTO incident_counter (year, last) VALUES (1998, 1)"))
    with make_sessionmaker(engine)() as s:
        assert s.scalar(text("SELECT last FROM incident_counter WHERE year = 1998")) == 1


def test_a_reading_session_signs_with_the_engines_keys(engine: Engine) -> None:
    bound = Keyring(AuditKey(b"this engine's own key, of 32 chars or more"))
    bind_keyring(engine, bound)
    with make_sessionmaker(reads_only(engine))() as s:
        assert keyring_for(s) is bound
