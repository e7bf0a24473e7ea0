"""Web sessions kept on the server, and the per-address count of failed logins.

The session cookie carries a random token; the database keeps only its SHA-256, with
when the person last typed their password in that session. Logging out ends the row,
so a copied cookie stops working; a password change or an admin's "sign out everywhere"
ends every row of the person. The failed-login count per client address lives in the
database too, so the limit holds across every web worker and restart.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, Integer, String, case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from incidents.db import Base, UTCDateTime

# Showing a Telegram link code needs the password typed this recently in the session.
RECENT_PASSWORD = timedelta(minutes=10)


class WebSession(Base):
    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_person", "person_id", "revoked_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")

    def password_is_recent(self, now: datetime) -> bool:
        return now - self.password_at <= RECENT_PASSWORD


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, *, person_id: int, now: datetime, address: str) -> str:
    """A new session for a person who just typed their password; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=_digest(token),
            person_id=person_id,
            created_at=now,
            seen_at=now,
            password_at=now,
            address=address[:64],
        )
    )
    return token


def live_session(session: Session, token: str) -> WebSession | None:
    """The session behind a cookie token, unless it was ended."""
    if not token:
        return None
    found = session.get(WebSession, _digest(token))
    if found is None or found.revoked_at is not None:
        return None
    return found


def confirm_password(session: Session, token: str, *, now: datetime) -> None:
    session.execute(
        update(WebSession).where(WebSession.id == _digest(token)).values(password_at=now)
    )


def end_session(session: Session, token: str, *, now: datetime) -> bool:
    done = session.execute(
        update(WebSession)
        .where(WebSession.id == _digest(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def end_all_sessions(
    session: Session, *, person_id: int, now: datetime, keep_token: str | None = None
) -> int:
    """End every live session of the person (all but ``keep_token``); how many ended."""
    query = update(WebSession).where(
        WebSession.person_id == person_id, WebSession.revoked_at.is_(None)
    )
    if keep_token:
        query = query.where(WebSession.id != _digest(keep_token))
    done = session.execute(query.values(revoked_at=now))
    return int(done.rowcount)  # type: ignore[attr-defined]


# --- failed logins per address -------------------------------------------------------------


def address_failures(session: Session, address: str, *, now: datetime, window: timedelta) -> int:
    row = session.get(LoginThrottle, address[:64])
    if row is None or row.window_start <= now - window:
        return 0
    return row.failures


def count_address_failure(
    session: Session, address: str, *, now: datetime, window: timedelta
) -> None:
    """One more failure from ``address``, atomically on both engines (an upsert)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(LoginThrottle).values(address=address[:64], window_start=now, failures=1)
    table = LoginThrottle.__table__.c
    expired = table.window_start <= literal(now - window, UTCDateTime())
    stmt = stmt.on_conflict_do_update(
        index_elements=["address"],
        set_={
            "failures": case((expired, 1), else_=table.failures + 1),
            "window_start": case((expired, literal(now, UTCDateTime())), else_=table.window_start),
        },
    )
    session.execute(stmt)


def person_sessions(session: Session, person_id: int) -> list[WebSession]:
    return list(
        session.scalars(
            select(WebSession)
            .where(WebSession.person_id == person_id, WebSession.revoked_at.is_(None))
            .order_by(WebSession.created_at)
        )
    )
