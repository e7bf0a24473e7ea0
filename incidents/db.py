"""Engine, session and column types shared by every process (web, worker, bot, CLI).

Plain SQLAlchemy 2 with no Flask: the worker and the bot use the same models. SQLite is
run in WAL mode with foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` on every
transaction that may write, so that it takes the write lock before it reads (a deferred
transaction cannot upgrade once another writer committed: "database is locked"); one
that only reads (:func:`reads_only`, a GET's) begins deferred and may not write.
PostgreSQL needs nothing special here; row locks come from the queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine.

    SQLite hands back naive values even for ``timezone=True`` columns; they are UTC by
    construction, so they are made aware on the way out. A naive value on the way in is
    a bug in the caller and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A unit of work that only reads (reads_only) begins deferred: WAL lets readers
        # run beside each other and beside the one writer, instead of queueing for the
        # write lock (and SQLite's busy back-off of up to 100 ms a try). query_only makes
        # a write in it an error at once, never the "database is locked" a deferred
        # transaction meets when it tries to upgrade after another writer committed.
        reads = bool(connection.get_execution_options().get(READS_ONLY))
        if connection.info.get(READS_ONLY, False) != reads:
            connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if reads else 'OFF'}")
            connection.info[READS_ONLY] = reads
        connection.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")


READS_ONLY = "fenghuo_reads_only"


def reads_only(engine: Engine) -> Engine:
    """``engine`` for units of work that only read (a GET's): on SQLite their
    transactions begin deferred and refuse writes; on PostgreSQL nothing changes."""
    return engine.execution_options(**{READS_ONLY: True})


URL_VARIABLE = "FENGHUO_DATABASE_URL"


class DatabaseUnavailable(Exception):
    """The configured database cannot be used: one line that names the setting and the
    cause, for an operator (not a traceback)."""


def _refuse_connect_errors(engine: Engine) -> None:
    """A failure to connect (server down, no such database, refused login) becomes
    :class:`DatabaseUnavailable` naming ``FENGHUO_DATABASE_URL`` and the cause."""
    shown = engine.url.render_as_string(hide_password=True)

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        if context.connection is None and not context.is_pre_ping:
            cause = str(context.original_exception).strip().splitlines()
            raise DatabaseUnavailable(
                f"{URL_VARIABLE}: cannot connect to {shown}: "
                + (cause[0] if cause else type(context.original_exception).__name__)
            )


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Create the engine for ``url`` with the settings each database needs.

    A SQLite file in a directory that does not exist is refused rather than created
    (a mistyped path would otherwise start an empty database); the settings create the
    default instance folder.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            from pathlib import Path

            folder = Path(path).parent
            if not folder.is_dir():
                raise DatabaseUnavailable(
                    f"{URL_VARIABLE}: the folder {folder} of the SQLite database does not "
                    "exist; create it or correct the URL (nothing was written)"
                )
        # A pool, not a connection per transaction: closing the last connection to a
        # WAL database checkpoints it, which costs milliseconds on every unit of work.
        engine = create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=10,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _sqlite_setup(engine)
        _refuse_connect_errors(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # jit = off for Fenghuo's connections only: its statements read thousands of rows
    # at most, and a cost estimate past jit_above_cost (a department head's count of
    # breached reports over 15,000 open incidents at 1,000,000: cost 102,792) made
    # PostgreSQL spend longer compiling the plan than running it, on every execution.
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        pool_pre_ping=True,
        connect_args={"options": "-c jit=off"},
    )
    _refuse_connect_errors(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def utc(value: datetime) -> datetime:
    """Refuse naive datetimes at the edges; convert aware ones to UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every time in Fenghuo carries a zone")
    return value.astimezone(UTC)
