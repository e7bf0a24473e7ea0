"""The process-wide services a face needs, built once by ``create_app``.

Views reach them through :func:`services` and the request-scoped session through
:func:`db`; nothing here holds business state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, g, has_request_context, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy
from config.settings import Settings
from incidents.clock import Clock
from incidents.db import reads_only


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Clock
    # The engine for requests that only read (incidents.db.reads_only).
    reading: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.reading = reads_only(self.engine)


def services() -> Services:
    found: Services = current_app.extensions["fenghuo"]
    return found


# Requests that only read: their session's transactions read beside each other on
# SQLite (incidents.db.reads_only); a write in one is refused, loudly.
READING = frozenset({"GET", "HEAD", "OPTIONS"})


def db() -> Session:
    """The request's session (opened on first use, closed at teardown): a GET's only
    reads."""
    if "db_session" not in g:
        svc = services()
        if has_request_context() and request.method in READING:
            g.db_session = svc.sessions(bind=svc.reading)
        else:
            g.db_session = svc.sessions()
    session: Session = g.db_session
    return session


@contextmanager
def writing() -> Iterator[Session]:
    """A write in the request's session: the read transaction it may have open ends,
    the write runs in a transaction of its own (on SQLite ``BEGIN IMMEDIATE``, even in a
    GET, whose session otherwise only reads), committed when the block ends and rolled
    back on any error, so a refused action stores nothing."""
    session = db()
    if session.in_transaction():
        session.commit()
    bound = session.bind
    session.bind = services().engine
    try:
        with session.begin():
            yield session
    finally:
        session.bind = bound


def now() -> datetime:
    return services().clock.now()


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
