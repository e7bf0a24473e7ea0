"""Logging in: the password check, a growing per-account delay, every outcome audited.

Failures are counted on the person's row, so the delay holds across web workers and
restarts. After ``free_failures`` consecutive failures each further one makes the
account wait before the next try, doubling from one second up to ``max_delay``: a
stranger cannot lock someone out for long, and a guesser gets a handful of tries an
hour. An unknown login, a wrong password and an account that must still wait give the
same answer and take the same time (the password is always checked against a hash), so
logins cannot be probed. Every failure and every login is in the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit import Actor, record
from incidents.errors import ValidationError
from incidents.org import LANGUAGES, Person
from incidents.passwords import (
    MIN_LENGTH,
    check_password,
    dummy_check,
    hash_password,
    needs_rehash,
)
from incidents.sessions import end_all_sessions


@dataclass(frozen=True)
class LoginOutcome:
    person: Person | None
    # When the account may try again (kept from the answer: it would say the login exists).
    wait_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.person is not None


def login_delay(failures: int, *, free_failures: int, max_delay: timedelta) -> timedelta:
    """How long an account waits after ``failures`` consecutive failures."""
    if failures < free_failures:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free_failures, 30)), max_delay)


def attempt_login(
    session: Session,
    *,
    login: str,
    password: str,
    now: datetime,
    source: str,
    max_failures: int,
    lockout: timedelta,
    address: str = "",
) -> LoginOutcome:
    """Check a login; ``max_failures`` are free, ``lockout`` caps the growing delay."""
    given = login.strip()
    person = session.scalars(
        select(Person).where(Person.login == given).with_for_update(key_share=True)
    ).first()
    known = person is not None and person.active
    waiting = (
        known
        and person is not None
        and person.locked_until is not None
        and person.locked_until > now
    )
    if known and not waiting and person is not None:
        matches = check_password(person.password_hash, password)
    else:
        # Same work as a real check: the time must not tell an unknown login apart.
        dummy_check(password)
        matches = False
    if matches and person is not None:
        person.failed_logins = 0
        person.locked_until = None
        if person.password_hash and needs_rehash(person.password_hash):
            person.password_hash = hash_password(password)
        record(
            session,
            actor=Actor(person.id, person.login, source),
            kind="account.login",
            subject_type="person",
            subject_id=person.id,
            data={"address": address},
            now=now,
        )
        return LoginOutcome(person)
    data: dict[str, object] = {"login": given[:64], "address": address}
    if known and person is not None:
        if waiting:
            data["reason"] = "waiting"
        else:
            person.failed_logins += 1
            person.last_failed_login_at = now
            delay = login_delay(person.failed_logins, free_failures=max_failures, max_delay=lockout)
            person.locked_until = now + delay if delay else None
            data.update(reason="password", failures=person.failed_logins)
            if delay:
                data["wait_seconds"] = int(delay.total_seconds())
    else:
        data["reason"] = "unknown login"
    record(
        session,
        actor=Actor(person.id if known and person else None, given[:64] or "?", source),
        kind="account.login_failed",
        subject_type="person",
        subject_id=person.id if known and person else None,
        data=data,
        now=now,
    )
    return LoginOutcome(None, wait_until=person.locked_until if known and person else None)


def set_password(
    session: Session, *, person: Person, password: str, actor: Actor, now: datetime
) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            "must be at least %(min)s characters",
            field="password",
            code="password.too_short",
            params={"min": MIN_LENGTH},
        )
    person.password_hash = hash_password(password)
    person.failed_logins = 0
    person.locked_until = None
    # A new password ends every session signed in with the old one (the copied cookie).
    ended = end_all_sessions(session, person_id=person.id, now=now)
    record(
        session,
        actor=actor,
        kind="account.password_set",
        subject_type="person",
        subject_id=person.id,
        data={"sessions_ended": ended},
        now=now,
    )


def sign_out_everywhere(
    session: Session,
    *,
    person: Person,
    actor: Actor,
    now: datetime,
    keep_token: str | None = None,
) -> int:
    """End the person's web sessions (all but ``keep_token``), audited; how many ended."""
    ended = end_all_sessions(session, person_id=person.id, now=now, keep_token=keep_token)
    record(
        session,
        actor=actor,
        kind="account.signed_out_everywhere",
        subject_type="person",
        subject_id=person.id,
        data={"sessions_ended": ended},
        now=now,
    )
    return ended


def set_language(
    session: Session, *, person: Person, language: str, actor: Actor, now: datetime
) -> None:
    if language not in LANGUAGES:
        raise ValidationError(
            "must be one of %(choices)s",
            field="language",
            code="language.choice",
            params={"choices": ", ".join(LANGUAGES)},
        )
    if person.language != language:
        person.language = language
        record(
            session,
            actor=actor,
            kind="account.language_set",
            subject_type="person",
            subject_id=person.id,
            data={"language": language},
            now=now,
        )
