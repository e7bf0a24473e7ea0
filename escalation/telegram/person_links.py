"""A person's link to their Telegram account, and the destination that follows it.

One account per person and one person per account: a re-link moves it. Linking keeps
the person's ``destination`` row of kind ``telegram`` in step (enabled, address = the
chat id), which is how the outbox reaches them; unlinking disables it. Every change is
audited. A person links themselves with a code (:mod:`~escalation.telegram.link_codes`);
an operator links them from the command line (:func:`link_person`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation import bulletins
from escalation.models import Destination
from escalation.telegram.models import TelegramLink
from incidents.audit import Actor, record
from incidents.errors import NotFound, ValidationError
from incidents.org import Person

CHANNEL_KIND = "telegram"


def person_by_id(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(
            "no person with id %(id)s",
            field="person",
            code="person.no_person_id",
            params={"id": person_id},
        )
    return person


def person_by_login(session: Session, login: str) -> Person:
    person = session.scalars(select(Person).where(Person.login == login)).first()
    if person is None:
        raise NotFound(
            "no person with login %(login)r",
            field="person",
            code="person.no_person_login",
            params={"login": login},
        )
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
            code="chat_id.person_linked_private_chat",
        )
    person = person_by_login(session, login)
    user_id = chat_id if telegram_user_id is None else telegram_user_id
    return link_account(session, person, user_id, chat_id, username, "cli", actor, now)


def link_account(
    session: Session,
    person: Person,
    telegram_user_id: int,
    chat_id: int,
    username: str,
    via: str,
    actor: Actor,
    now: datetime,
) -> TelegramLink:
    """Link ``person`` to the Telegram account in ``chat_id``; ``via`` says how
    (``code`` or ``cli``), for the audit record."""
    # One account per person and one person per account: a re-link moves it.
    for other in session.scalars(
        select(TelegramLink).where(
            (TelegramLink.telegram_user_id == telegram_user_id)
            & (TelegramLink.person_id != person.id)
        )
    ):
        _drop(session, other, "moved to another person", actor, now)
    link = session.scalars(select(TelegramLink).where(TelegramLink.person_id == person.id)).first()
    before = (link.telegram_user_id, link.chat_id) if link is not None else None
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
    told = 0
    if before is None or before[0] != telegram_user_id:
        told = _tell_other_channels(session, person, link, before, now)
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
            "told_elsewhere": told,
        },
        now=now,
    )
    return link


def _tell_other_channels(
    session: Session,
    person: Person,
    link: TelegramLink,
    before: tuple[int, int] | None,
    now: datetime,
) -> int:
    """A new Telegram account now gets the person's alerts: say so on every other
    channel they have — and in the chat it replaced — so that a link made with a stolen
    code is noticed (issue 12). Returns the messages queued."""
    new_chat = bulletins.Address(CHANNEL_KIND, str(link.chat_id))
    also = []
    if before is not None and before[1] != link.chat_id:
        also.append(bulletins.Address(CHANNEL_KIND, str(before[1])))
    who = f"@{link.username}" if link.username else ""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return bulletins.queue_for_person(
        session,
        person_id=person.id,
        kind="account",
        key=f"telegram.linked:{person.id}:{link.telegram_user_id}:{now.isoformat()}",
        text_zh=(
            f"【烽火账号安全】您的账号 {person.login} 于 {stamp} 绑定了新的 Telegram 账号"
            f" {who}（ID {link.telegram_user_id}），今后的告警将发往该账号。"
            "如非本人操作，请立即登录烽火，在“个人设置”中解除绑定并修改密码，或联系管理员。"
        ),
        text_en=(
            f"[Fenghuo account security] Your account {person.login} was linked to a new "
            f"Telegram account {who} (id {link.telegram_user_id}) at {stamp}; alerts now go "
            "there. If this was not you, sign in to Fenghuo at once, unlink it on your "
            "profile page and change your password, or call an administrator."
        ),
        now=now,
        besides=[new_chat],
        also=also,
        link_path="/profile",
    )


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
