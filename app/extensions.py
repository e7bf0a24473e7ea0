"""The process-wide services a face needs, built once by ``create_app``.

Views reach them through :func:`services` and the request-scoped session through
:func:`db`; nothing here holds business state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy
from config.settings import Settings
from incidents.clock import Clock


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Clock


def services() -> Services:
    found: Services = current_app.extensions["fenghuo"]
    return found


def db() -> Session:
    """The request's session (opened on first use, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = services().sessions()
    session: Session = g.db_session
    return session


def now() -> datetime:
    return services().clock.now()


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
