"""The bot's side of a Telegram exchange: what it reads, and what it owes back.

An update is read into an :class:`Incoming` (who, where, what); the bot's reply is a
list of :class:`Answer` — Bot API calls with their parameters, which the polling bot
makes at once and the webhook route queues for the worker's sender.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from telegram import Update


@dataclass(frozen=True)
class Incoming:
    """The parts of a Telegram update the bot acts on."""

    user_id: int
    chat_id: int
    chat_type: str
    username: str = ""
    language_code: str | None = None
    chat_title: str = ""
    command: str | None = None
    args: tuple[str, ...] = ()
    callback_query_id: str | None = None
    callback_data: str | None = None
    message_thread_id: int | None = None

    @property
    def private(self) -> bool:
        return self.chat_type == "private"


@dataclass(frozen=True)
class Answer:
    """One Bot API call the bot owes: ``method`` with its JSON-able ``params``."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None


def incoming_from(update: Update, bot_username: str | None = None) -> Incoming | None:
    """Read an update; None when it is nothing the bot answers (no user, no command)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    common: dict[str, Any] = {
        "user_id": user.id,
        "chat_id": chat.id,
        "chat_type": chat.type,
        "username": user.username or "",
        "language_code": user.language_code,
        "chat_title": chat.title or "",
    }
    query = update.callback_query
    if query is not None:
        return Incoming(**common, callback_query_id=query.id, callback_data=query.data)
    message = update.effective_message
    if message is None or not message.text:
        return None
    common["message_thread_id"] = message.message_thread_id if message.is_topic_message else None
    words = message.text.split()
    if not words or not words[0].startswith("/"):
        return Incoming(**common)
    command, _, target = words[0][1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None  # a command for another bot in the same group
    return Incoming(**common, command=command.lower(), args=tuple(words[1:]))


def reply(incoming: Incoming, body: str) -> Answer:
    """A message into the chat (and topic) the incoming came from."""
    params: dict[str, Any] = {
        "chat_id": incoming.chat_id,
        "text": body,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if incoming.message_thread_id is not None:
        params["message_thread_id"] = incoming.message_thread_id
    return Answer("sendMessage", params)


def toast(incoming: Incoming, body: str, *, alert: bool) -> Answer:
    """The answer to a button press: a notice over the chat, or with ``alert`` a dialog."""
    # Button answers are plain text (no HTML) of at most 200 characters.
    plain = html.unescape(re.sub(r"<[^>]+>", "", body))[:200]
    return Answer(
        "answerCallbackQuery",
        {"callback_query_id": incoming.callback_query_id, "text": plain, "show_alert": alert},
    )
