"""Plain functions behind ``fenghuo telegram …``; each returns the lines to print.

``app/cli/telegram_links.py`` parses the options, opens the session (one transaction)
and prints.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from config.settings import Settings
from escalation.telegram import linking
from incidents.audit import Actor


def status_line(settings: Settings) -> str:
    """Whether Telegram is on, said plainly (printed by ``run``, ``worker`` and ``bot``)."""
    if not settings.telegram_token:
        return "Telegram is off: FENGHUO_TELEGRAM_TOKEN is not set."
    bot_id = settings.telegram_token.split(":", 1)[0]
    return (
        f"Telegram is on: bot {bot_id}, {settings.telegram_mode} mode, "
        f"Bot API {settings.telegram_api_url}"
    )


def link(session: Session, *, login: str, chat_id: int, actor: Actor, now: datetime) -> str:
    """``fenghuo telegram link --person LOGIN --chat-id ID``."""
    row = linking.link_person(session, login=login, chat_id=chat_id, actor=actor, now=now)
    return f"{login} linked to Telegram chat {row.chat_id}; alerts go there from now on"


def link_group(
    session: Session,
    *,
    chat_id: int,
    actor: Actor,
    now: datetime,
    role: str | None = None,
    department: str | None = None,
) -> str:
    """``fenghuo telegram link-group --chat-id ID --role ROLE | --department CODE``."""
    group = linking.link_group(
        session, chat_id=chat_id, actor=actor, now=now, role=role, department_code=department
    )
    target = f"role {group.role}" if group.role else f"department {department}"
    return f"Telegram group {chat_id} linked to {target}"


def unlink(session: Session, *, login: str, actor: Actor, now: datetime) -> str:
    """``fenghuo telegram unlink --person LOGIN``."""
    person = linking.person_by_login(session, login)
    if linking.unlink(session, person_id=person.id, actor=actor, now=now):
        return f"{login} is no longer linked to Telegram"
    return f"{login} was not linked to Telegram"


def code(
    session: Session,
    *,
    login: str,
    now: datetime,
    secret_key: str,
    bot_username: str | None = None,
) -> list[str]:
    """``fenghuo telegram code --person LOGIN``: a fresh one-time link code."""
    person = linking.person_by_login(session, login)
    issued = linking.issue_code(session, person_id=person.id, now=now, secret_key=secret_key)
    lines = [
        f"link code for {login}: {issued.code} (valid until {issued.expires_at:%Y-%m-%d %H:%M} "
        "UTC, single use)",
        f"send to the bot: {issued.start_command()}",
    ]
    deep = issued.deep_link(bot_username)
    if deep:
        lines.append(f"or open: {deep}")
    return lines
