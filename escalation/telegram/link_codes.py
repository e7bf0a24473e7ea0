"""Link codes: how a person links their own Telegram account.

A person takes a one-time code from their profile page and sends it to the bot as
``/start <code>`` in a private chat: single use, valid for 10 minutes, the newest code
replaces the older ones, and only its SHA-256 is searchable in the database. The code
itself is an HMAC of a random salt under the application's secret key, so the profile
page can show the same code again while it is valid, and a reader of the database
learns nothing from the row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalation.telegram.models import TelegramLinkCode
from escalation.telegram.person_links import link_account, person_by_id
from incidents.audit import Actor
from incidents.errors import ValidationError
from incidents.org import Person

CODE_TTL = timedelta(minutes=10)
CODE_LENGTH = 12
# Upper-case letters and digits without the look-alikes 0/O and 1/I: easy to type.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class IssuedCode:
    """A link code to show the person once (or again, while valid)."""

    code: str
    expires_at: datetime

    def start_command(self) -> str:
        return f"/start {self.code}"

    def deep_link(self, bot_username: str | None) -> str | None:
        """``https://t.me/<bot>?start=<code>``: opens the chat and sends the command."""
        return f"https://t.me/{bot_username}?start={self.code}" if bot_username else None


def _derive(secret_key: str, salt: str) -> str:
    mac = hmac.new(secret_key.encode(), f"telegram-link:{salt}".encode(), hashlib.sha256)
    number = int.from_bytes(mac.digest(), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """What a person typed, as stored: no spaces or dashes, upper case."""
    return "".join(c for c in code.upper() if c.isalnum())


def issue_code(session: Session, *, person_id: int, now: datetime, secret_key: str) -> IssuedCode:
    """A new code for ``person_id``; any older unused code stops working."""
    person = person_by_id(session, person_id)
    if not person.active:
        raise ValidationError(
            "an inactive person cannot link Telegram",
            field="person",
            code="person.inactive_person_cannot_link",
        )
    session.execute(
        update(TelegramLinkCode)
        .where(
            TelegramLinkCode.person_id == person_id,
            TelegramLinkCode.used_at.is_(None),
            TelegramLinkCode.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
    salt = secrets.token_hex(16)
    code = _derive(secret_key, salt)
    row = TelegramLinkCode(
        person_id=person_id,
        code_hash=_hash(code),
        salt=salt,
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    session.add(row)
    session.flush()
    return IssuedCode(code, row.expires_at)


def current_code_for(
    session: Session, person_id: int, now: datetime, *, secret_key: str
) -> IssuedCode | None:
    """The person's code that still works, or None (then offer to issue one)."""
    row = session.scalars(
        select(TelegramLinkCode)
        .where(
            TelegramLinkCode.person_id == person_id,
            TelegramLinkCode.used_at.is_(None),
            TelegramLinkCode.superseded_at.is_(None),
            TelegramLinkCode.expires_at > now,
        )
        .order_by(TelegramLinkCode.id.desc())
    ).first()
    if row is None:
        return None
    code = _derive(secret_key, row.salt)
    # A rotated secret key derives another code, which would not redeem: offer a new one.
    return IssuedCode(code, row.expires_at) if _hash(code) == row.code_hash else None


def redeem(
    session: Session,
    *,
    code: str,
    telegram_user_id: int,
    chat_id: int,
    username: str,
    now: datetime,
) -> Person:
    """Link the Telegram account to the code's person; the code is then spent.

    Raises ``ValidationError(field="code")`` for an unknown, used, replaced or expired
    code. The code is spent by a compare-and-set, so two presses cannot both use it.
    """
    row = session.scalars(
        select(TelegramLinkCode).where(TelegramLinkCode.code_hash == _hash(normalise_code(code)))
    ).first()
    refused = ValidationError("the link code is invalid, used or expired", field="code")
    if row is None:
        raise refused
    spent = session.execute(
        update(TelegramLinkCode)
        .where(
            TelegramLinkCode.id == row.id,
            TelegramLinkCode.used_at.is_(None),
            TelegramLinkCode.superseded_at.is_(None),
            TelegramLinkCode.expires_at > now,
        )
        .values(used_at=now, used_by_telegram_user_id=telegram_user_id)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise refused
    person = person_by_id(session, row.person_id)
    if not person.active:
        raise refused
    actor = Actor(person.id, person.login, "telegram")
    link_account(session, person, telegram_user_id, chat_id, username, "code", actor, now)
    return person
