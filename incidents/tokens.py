"""Bearer tokens for machines: created once, stored as a SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from incidents.audit import Actor, record
from incidents.db import UTCDateTime
from incidents.errors import NotFound, ValidationError
from incidents.org import ApiToken, Person
from incidents.permissions import HELD_COLUMNS, Capabilities, from_held, join_held

TOKEN_PREFIX = "fh_"  # noqa: S105 - a visible prefix, not a secret
# What a token may do: "full" is whatever its person may do through the API; "intake" is
# for a monitoring system: it posts alerts to the intake endpoints and is refused elsewhere.
SCOPES = ("full", "intake")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    *,
    login: str,
    name: str,
    actor: Actor,
    now: datetime,
    scope: str = "full",
) -> tuple[str, ApiToken]:
    """Make a token for ``login`` with ``scope`` (one of :data:`SCOPES`); the clear text is
    returned once and never stored."""
    person = session.scalars(select(Person).where(Person.login == login)).first()
    if person is None:
        raise NotFound(
            "no person with login %(login)r",
            field="person",
            code="person.no_person_login",
            params={"login": login},
        )
    if not name.strip():
        raise ValidationError("a token needs a name", field="name", code="name.token_needs_name")
    if scope not in SCOPES:
        raise ValidationError(
            "must be one of %(choices)s; got %(value)r",
            field="scope",
            code="choice",
            params={"choices": ", ".join(SCOPES), "value": scope},
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        person_id=person.id,
        name=name.strip(),
        token_hash=digest(token),
        prefix=token[:10],
        created_at=now,
        scope=scope,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        kind="account.token.created",
        subject_type="person",
        subject_id=person.id,
        data={"token_id": row.id, "name": row.name, "prefix": row.prefix, "scope": scope},
        now=now,
    )
    return token, row


def revoke_token(session: Session, *, token_id: int, actor: Actor, now: datetime) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(
            "no token with id %(id)s",
            field="token_id",
            code="token_id.no_token_id",
            params={"id": token_id},
        )
    if row.revoked_at is None:
        row.revoked_at = now
        record(
            session,
            actor=actor,
            kind="account.token.revoked",
            subject_type="person",
            subject_id=row.person_id,
            data={"token_id": row.id, "name": row.name},
            now=now,
        )
    return row


@dataclass(frozen=True)
class Caller:
    """Who a bearer token speaks for, and what they may do at the moment it was checked.

    ``noted``: the token's ``last_used_at`` is older than a minute: the caller records
    this use (:func:`note_use`) in a transaction of its own."""

    token_id: int
    scope: str
    person: Person
    caps: Capabilities
    noted: bool


@cache
def _caller_statement() -> Select[Any]:
    """``caller_for``'s statement, built once (building one costs as much as running it)."""
    return join_held(
        select(Person, ApiToken.id, ApiToken.scope, ApiToken.last_used_at, *HELD_COLUMNS).join(
            ApiToken, ApiToken.person_id == Person.id
        ),
        Person.id,
        bindparam("at", type_=UTCDateTime()),
    ).where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        Person.active.is_(True),
    )


def caller_for(session: Session, token: str, *, now: datetime) -> Caller | None:
    """The active token ``token`` of an active person, with that person's capabilities at
    ``now``, or None; notes when it was last used.

    One statement reads the token, its person, the positions they hold, their
    departments' kinds and their charges (``incidents.permissions.join_held``): the one
    permission computation of an API request."""
    stmt = _caller_statement()
    rows = session.execute(stmt, {"token_hash": digest(token), "at": now}).all()
    if not rows:
        return None
    person, token_id, scope, last_used_at = rows[0][:4]
    caps = from_held(person.id, person.is_admin, (tuple(row[4:]) for row in rows))
    # Only a coarse "last used" (once a minute) so that reads do not become writes.
    noted = last_used_at is None or (now - last_used_at).total_seconds() > 60
    return Caller(token_id=token_id, scope=scope, person=person, caps=caps, noted=noted)


def note_use(session: Session, token_id: int, *, now: datetime) -> None:
    """Record that the token was used at ``now`` (when ``caller_for`` says ``noted``)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
