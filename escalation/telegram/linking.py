"""Linking people and group chats to Telegram.

A person links their own account with a one-time code from their profile page, sent to
the bot as ``/start <code>`` in a private chat: single use, valid for 10 minutes, the
newest code replaces the older ones, and only its SHA-256 is searchable in the
database. The code itself is an HMAC of a random salt under the application's secret
key, so the profile page can show the same code again while it is valid, and a reader
of the database learns nothing from the row. An operator can link a person or a group
chat from the command line; an administrator can link a group from inside it.

Linking keeps the person's ``destination`` row of kind ``telegram`` in step (enabled,
address = the chat id), which is how the outbox reaches them. Every change is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalation.models import Destination
from escalation.telegram.models import TelegramGroup, TelegramLink, TelegramLinkCode
from incidents.audit import Actor, record
from incidents.errors import NotFound, ValidationError
from incidents.org import ROLES, Department, Person

CODE_TTL = timedelta(minutes=10)
CODE_LENGTH = 12
# Upper-case letters and digits without the look-alikes 0/O and 1/I: easy to type.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CHANNEL_KIND = "telegram"


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


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}", field="person")
    return person


def person_by_login(session: Session, login: str) -> Person:
    person = session.scalars(select(Person).where(Person.login == login)).first()
    if person is None:
        raise NotFound(f"no person with login {login!r}", field="person")
    return person


def issue_code(session: Session, *, person_id: int, now: datetime, secret_key: str) -> IssuedCode:
    """A new code for ``person_id``; any older unused code stops working."""
    person = _person(session, person_id)
    if not person.active:
        raise ValidationError("an inactive person cannot link Telegram", field="person")
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
    person = _person(session, row.person_id)
    if not person.active:
        raise refused
    actor = Actor(person.id, person.login, "telegram")
    _link(session, person, telegram_user_id, chat_id, username, "code", actor, now)
    return person


def link_person(
    session: Session,
    *,
    login: str,
    chat_id: int,
    actor: Actor,
    now: datetime,
    telegram_user_id: int | None = None,
    username: str = "",
) -> TelegramLink:
    """Link ``login`` to a private chat by an operator (``fenghuo telegram link``).

    In a private chat the chat id is the user's id, so that is the default user id.
    """
    if chat_id <= 0:
        raise ValidationError(
            "a person is linked to a private chat (a positive id); use link-group for groups",
            field="chat_id",
        )
    person = person_by_login(session, login)
    user_id = chat_id if telegram_user_id is None else telegram_user_id
    return _link(session, person, user_id, chat_id, username, "cli", actor, now)


def _link(
    session: Session,
    person: Person,
    telegram_user_id: int,
    chat_id: int,
    username: str,
    via: str,
    actor: Actor,
    now: datetime,
) -> TelegramLink:
    # One account per person and one person per account: a re-link moves it.
    for other in session.scalars(
        select(TelegramLink).where(
            (TelegramLink.telegram_user_id == telegram_user_id)
            & (TelegramLink.person_id != person.id)
        )
    ):
        _drop(session, other, "moved to another person", actor, now)
    link = session.scalars(select(TelegramLink).where(TelegramLink.person_id == person.id)).first()
    if link is None:
        link = TelegramLink(person_id=person.id)
        session.add(link)
    link.telegram_user_id = telegram_user_id
    link.chat_id = chat_id
    link.username = (username or "")[:64]
    link.via = via
    link.linked_at = now
    session.flush()
    _set_destination(session, person.id, chat_id, now)
    record(
        session,
        actor=actor,
        kind="telegram.linked",
        subject_type="person",
        subject_id=person.id,
        data={
            "telegram_user_id": telegram_user_id,
            "chat_id": chat_id,
            "username": link.username,
            "via": via,
        },
        now=now,
    )
    return link


def _set_destination(session: Session, person_id: int, chat_id: int, now: datetime) -> None:
    """Exactly one enabled Telegram destination per linked person: this chat."""
    address = str(chat_id)
    found = False
    for dest in session.scalars(
        select(Destination).where(
            Destination.person_id == person_id, Destination.kind == CHANNEL_KIND
        )
    ):
        if dest.address == address:
            found = True
            dest.enabled, dest.disabled_reason, dest.disabled_at = True, "", None
        elif dest.enabled:
            dest.enabled, dest.disabled_reason, dest.disabled_at = False, "relinked", now
        dest.updated_at = now
    if not found:
        session.add(
            Destination(
                person_id=person_id,
                kind=CHANNEL_KIND,
                address=address,
                label="Telegram",
                enabled=True,
                disabled_reason="",
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()


def _drop(session: Session, link: TelegramLink, reason: str, actor: Actor, now: datetime) -> None:
    for dest in session.scalars(
        select(Destination).where(
            Destination.person_id == link.person_id,
            Destination.kind == CHANNEL_KIND,
            Destination.enabled.is_(True),
        )
    ):
        dest.enabled, dest.disabled_reason, dest.disabled_at = False, reason, now
        dest.updated_at = now
    record(
        session,
        actor=actor,
        kind="telegram.unlinked",
        subject_type="person",
        subject_id=link.person_id,
        data={"telegram_user_id": link.telegram_user_id, "reason": reason},
        now=now,
    )
    session.delete(link)
    session.flush()


def unlink(session: Session, *, person_id: int, actor: Actor, now: datetime) -> bool:
    """Forget the person's Telegram account; False when there was none."""
    link = link_of(session, person_id)
    if link is None:
        return False
    _drop(session, link, "unlinked", actor, now)
    return True


def link_of(session: Session, person_id: int) -> TelegramLink | None:
    return session.scalars(select(TelegramLink).where(TelegramLink.person_id == person_id)).first()


def linked_person(session: Session, telegram_user_id: int) -> Person | None:
    """The active person linked to this Telegram user, or None."""
    person = session.scalars(
        select(Person)
        .join(TelegramLink, TelegramLink.person_id == Person.id)
        .where(TelegramLink.telegram_user_id == telegram_user_id)
    ).first()
    return person if person is not None and person.active else None


def link_group(
    session: Session,
    *,
    chat_id: int,
    actor: Actor,
    now: datetime,
    role: str | None = None,
    department_code: str | None = None,
    title: str = "",
    message_thread_id: int | None = None,
    language: str = "zh_CN",
) -> TelegramGroup:
    """Link a group chat to a role (alerts paging that role) or to a department
    (alerts for incidents it is responsible for); re-linking changes the target."""
    if (role is None) == (department_code is None):
        raise ValidationError("give exactly one of a role or a department", field="role")
    if chat_id >= 0:
        raise ValidationError("group chat ids are negative (e.g. -100…)", field="chat_id")
    department_id: int | None = None
    if role is not None and role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; one of {', '.join(ROLES)}", field="role")
    if department_code is not None:
        dept = session.scalars(select(Department).where(Department.code == department_code)).first()
        if dept is None:
            raise ValidationError(f"no department {department_code!r}", field="department")
        department_id = dept.id
    group = session.scalars(select(TelegramGroup).where(TelegramGroup.chat_id == chat_id)).first()
    if group is None:
        group = TelegramGroup(chat_id=chat_id, linked_at=now)
        session.add(group)
    group.role, group.department_id = role, department_id
    group.title = title[:200] or group.title or ""
    group.message_thread_id = message_thread_id
    group.language = language if language in ("zh_CN", "en") else "zh_CN"
    group.enabled, group.disabled_reason = True, ""
    group.linked_at, group.linked_by_id = now, actor.person_id
    session.flush()
    record(
        session,
        actor=actor,
        kind="telegram.group_linked",
        subject_type="telegram_group",
        subject_id=group.id,
        data={"chat_id": chat_id, "role": role, "department": department_code, "title": title},
        now=now,
    )
    return group


def unlink_group(session: Session, *, chat_id: int, actor: Actor, now: datetime) -> bool:
    group = session.scalars(select(TelegramGroup).where(TelegramGroup.chat_id == chat_id)).first()
    if group is None:
        return False
    record(
        session,
        actor=actor,
        kind="telegram.group_unlinked",
        subject_type="telegram_group",
        subject_id=group.id,
        data={"chat_id": chat_id},
        now=now,
    )
    session.delete(group)
    session.flush()
    return True


def move_chat(session: Session, *, old_chat_id: int, new_chat_id: int, now: datetime) -> None:
    """A group became a supergroup (``migrate_to_chat_id``): follow it everywhere."""
    old, new = str(old_chat_id), str(new_chat_id)
    session.execute(
        update(Destination)
        .where(Destination.kind == CHANNEL_KIND, Destination.address == old)
        .values(address=new, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TelegramGroup)
        .where(TelegramGroup.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TelegramLink)
        .where(TelegramLink.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class TelegramProfile:
    """What the profile page shows about Telegram (``telegram/profile_block.html``)."""

    enabled: bool
    linked: bool
    username: str = ""
    linked_at: datetime | None = None
    code: IssuedCode | None = None


def telegram_profile(
    session: Session,
    *,
    person_id: int,
    now: datetime,
    secret_key: str,
    enabled: bool,
    issue: bool = True,
) -> TelegramProfile:
    """The profile page's Telegram state; with ``issue``, a code when none is valid.

    Call it inside a transaction when ``issue`` is true (issuing writes a row). The same
    code is shown on every visit while it is valid, so reloading the page is harmless.
    """
    if not enabled:
        return TelegramProfile(enabled=False, linked=False)
    link = link_of(session, person_id)
    code = current_code_for(session, person_id, now, secret_key=secret_key)
    if code is None and issue:
        code = issue_code(session, person_id=person_id, now=now, secret_key=secret_key)
    if link is not None:
        return TelegramProfile(True, True, link.username, link.linked_at, code)
    return TelegramProfile(True, False, code=code)
