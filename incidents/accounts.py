"""Logging in: password check with a lockout kept in the database.

Failures are counted on the person's row, so the lockout holds across web workers and
restarts; after ``max_failures`` consecutive failures the account is locked for
``lockout`` and every attempt in that time is refused, even with the right password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit import Actor, record
from incidents.errors import ValidationError
from incidents.org import LANGUAGES, Person
from incidents.passwords import MIN_LENGTH, check_password, hash_password, needs_rehash


@dataclass(frozen=True)
class LoginOutcome:
    person: Person | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.person is not None


def attempt_login(
    session: Session,
    *,
    login: str,
    password: str,
    now: datetime,
    source: str,
    max_failures: int,
    lockout: timedelta,
) -> LoginOutcome:
    person = session.scalars(
        select(Person).where(Person.login == login.strip()).with_for_update(key_share=True)
    ).first()
    if person is None or not person.active:
        # Same answer as a wrong password: logins are not to be probed.
        return LoginOutcome(None)
    if person.locked_until is not None and person.locked_until > now:
        return LoginOutcome(None, locked_until=person.locked_until)
    actor = Actor(person.id, person.login, source)
    if not check_password(person.password_hash, password):
        person.failed_logins += 1
        person.last_failed_login_at = now
        if person.failed_logins >= max_failures:
            person.locked_until = now + lockout
            person.failed_logins = 0
            record(
                session,
                actor=actor,
                kind="account.locked",
                subject_type="person",
                subject_id=person.id,
                now=now,
                data={"until": person.locked_until.isoformat(), "after": max_failures},
            )
            return LoginOutcome(None, locked_until=person.locked_until)
        return LoginOutcome(None)
    person.failed_logins = 0
    person.locked_until = None
    if person.password_hash and needs_rehash(person.password_hash):
        person.password_hash = hash_password(password)
    record(
        session,
        actor=actor,
        kind="account.login",
        subject_type="person",
        subject_id=person.id,
        data={},
        now=now,
    )
    return LoginOutcome(person)


def set_password(
    session: Session, *, person: Person, password: str, actor: Actor, now: datetime
) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"must be at least {MIN_LENGTH} characters", field="password")
    person.password_hash = hash_password(password)
    person.failed_logins = 0
    person.locked_until = None
    record(
        session,
        actor=actor,
        kind="account.password_set",
        subject_type="person",
        subject_id=person.id,
        data={},
        now=now,
    )


def set_language(
    session: Session, *, person: Person, language: str, actor: Actor, now: datetime
) -> None:
    if language not in LANGUAGES:
        raise ValidationError(f"must be one of {', '.join(LANGUAGES)}", field="language")
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
