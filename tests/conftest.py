"""Shared fixtures: databases (SQLite and PostgreSQL), a frozen clock, the demo org.

SQLite databases are copies of one migrated template, one per test. PostgreSQL gets one
database per test session, migrated once, and truncated before each test that uses it.
Without a reachable PostgreSQL server the tests that need it skip, unless
``FENGHUO_REQUIRE_ALL=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.migrate import upgrade
from incidents.audit import Actor
from incidents.clock import FrozenClock
from incidents.db import make_engine, make_sessionmaker
from incidents.org import Person

# python-telegram-bot 22 warns (an error under -W error) unless retry_after is a timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "true")
# One audit key for the test process, its subprocesses and the apps the tests build.
TEST_AUDIT_KEY = "test-audit-key-" + "k" * 32
os.environ.setdefault("FENGHUO_AUDIT_KEY", TEST_AUDIT_KEY)

REQUIRE_ALL = os.environ.get("FENGHUO_REQUIRE_ALL") == "1"
PG_ADMIN_URL = os.environ.get(
    "FENGHUO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEMO_ORG = Path(__file__).resolve().parent.parent / "app" / "demo" / "organisation.yaml"
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai


def need(what: str, reason: str) -> None:
    """Skip, or fail under FENGHUO_REQUIRE_ALL=1, when ``what`` is not available."""
    message = f"{what} not available: {reason}"
    if REQUIRE_ALL:
        pytest.fail(message + " (FENGHUO_REQUIRE_ALL=1)")
    pytest.skip(message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """Under FENGHUO_REQUIRE_ALL=1 no test may skip, whatever its reason: CI runs all."""
    report: pytest.TestReport = yield
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under FENGHUO_REQUIRE_ALL=1: {report.longrepr}"
    return report


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "fenghuo.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the server is absent or refuses us
        need("PostgreSQL", str(exc).splitlines()[0])
    name = f"fh_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        # Past the audit tables' TRUNCATE triggers: a test database starts empty.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> str:
    truncate_all(pg_database)
    return pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Both engines: a test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def any_engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def any_factory(any_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(any_engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def load_demo_org(factory: sessionmaker[Session], now: datetime = T0) -> dict[str, Person]:
    from sqlalchemy import select

    from incidents.org_io import import_org

    with factory() as session, session.begin():
        import_org(
            session,
            DEMO_ORG.read_text(encoding="utf-8"),
            actor=Actor(None, "system", "cli"),
            now=now,
        )
    with factory() as session:
        return {p.login: p for p in session.scalars(select(Person))}


@pytest.fixture
def org(factory: sessionmaker[Session]) -> dict[str, Person]:
    return load_demo_org(factory)


@pytest.fixture
def any_org(any_factory: sessionmaker[Session]) -> dict[str, Person]:
    return load_demo_org(any_factory)


def actor_for(person: Person, source: str = "api") -> Actor:
    return Actor(person.id, person.login, source)


TEST_SECRET = "x" * 32


def make_app(url: str, instance: Path, clock: FrozenClock, **overrides: object) -> Flask:
    """The application as a test builds it: this database, this clock, test mode."""
    from app import create_app
    from config.settings import load_settings

    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": url,
            "FENGHUO_INSTANCE_PATH": str(instance),
            "FENGHUO_ENV": "test",
            "FENGHUO_SECRET_KEY": TEST_SECRET,
            "FENGHUO_AUDIT_KEY": os.environ["FENGHUO_AUDIT_KEY"],
        }
    )
    return create_app(settings, clock=clock, overrides={"TESTING": True, **overrides})
