"""Linking people and group chats to Telegram.

A person links their own account with a one-time code from their profile page, sent to
the bot as ``/start <code>`` (:mod:`~escalation.telegram.link_codes`); an operator can
link a person (:mod:`~escalation.telegram.person_links`) or a group chat
(:mod:`~escalation.telegram.group_links`) from the command line; an administrator can
link a group from inside it. The profile page's view of all this is
:mod:`~escalation.telegram.profile`.

Linking keeps the person's ``destination`` row of kind ``telegram`` in step (enabled,
address = the chat id), which is how the outbox reaches them. Every change is audited.

This module gathers those names in one place, where the web, the bot and the command
line import them from.
"""

from __future__ import annotations

from escalation.telegram.group_links import link_group, move_chat, unlink_group
from escalation.telegram.link_codes import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_TTL,
    IssuedCode,
    current_code_for,
    issue_code,
    normalise_code,
    redeem,
)
from escalation.telegram.person_links import (
    CHANNEL_KIND,
    link_of,
    link_person,
    linked_person,
    person_by_login,
    unlink,
)
from escalation.telegram.profile import TelegramProfile, telegram_profile

__all__ = [
    "CHANNEL_KIND",
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_TTL",
    "IssuedCode",
    "TelegramProfile",
    "current_code_for",
    "issue_code",
    "link_group",
    "link_of",
    "link_person",
    "linked_person",
    "move_chat",
    "normalise_code",
    "person_by_login",
    "redeem",
    "telegram_profile",
    "unlink",
    "unlink_group",
]
