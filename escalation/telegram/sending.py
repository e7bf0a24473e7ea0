"""Bot API calls into chats, with Telegram's errors read the way the outbox needs them.

Errors, as the outbox understands them (``ChannelError``):

- ``RetryAfter`` → temporary, ``retry_after`` = Telegram's value (an int or, with
  ``PTB_TIMEDELTA``, a timedelta; both are read);
- ``Forbidden`` (blocked, kicked) and "chat not found" → permanent: the destination is
  disabled and the notice falls back;
- ``ChatMigrated`` → the stored chat id is moved to the supergroup and the send retried;
- a URL button Telegram will not take → sent again without it (the link stays in text);
- anything else → temporary.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from escalation.channels.base import ChannelError
from escalation.telegram.calls import make_call
from escalation.telegram.group_links import move_chat
from escalation.telegram.keyboards import Rendered
from escalation.telegram.loop import BotLoop
from incidents.clock import Clock

logger = logging.getLogger("fenghuo.telegram")

_URL_REFUSED = ("wrong http url", "button_url_invalid", "url host is empty")
_CHAT_GONE = ("chat not found", "user is deactivated", "peer_id_invalid")
_EDIT_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")

# python-telegram-bot 22 warns on every RetryAfter unless told to use timedeltas; the
# channel reads both forms, so it opts in (it never changes the value's meaning).
os.environ.setdefault("PTB_TIMEDELTA", "true")


def retry_seconds(value: int | float | timedelta) -> float:
    """Telegram's ``retry_after`` in seconds, whichever form PTB gave it in."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def channel_error(exc: TelegramError, chat_id: int) -> ChannelError:
    """The :class:`ChannelError` the outbox acts on for Telegram's ``exc`` in ``chat_id``."""
    if isinstance(exc, RetryAfter):
        seconds = retry_seconds(exc._retry_after)
        return ChannelError(
            f"Telegram flood control: retry after {seconds:g} s", retry_after=seconds
        )
    if isinstance(exc, Forbidden):
        return ChannelError(f"chat {chat_id}: {exc.message}", permanent=True)
    if isinstance(exc, BadRequest) and _says(exc, _CHAT_GONE):
        return ChannelError(f"chat {chat_id}: {exc.message}", permanent=True)
    if isinstance(exc, InvalidToken):
        return ChannelError(f"the bot token was refused: {exc.message}")
    return ChannelError(f"chat {chat_id}: {type(exc).__name__}: {exc.message}")


def _says(exc: TelegramError, fragments: tuple[str, ...]) -> bool:
    message = exc.message.lower()
    return any(f in message for f in fragments)


class ChatCalls:
    """Sends, edits and queued answers through a :class:`BotLoop`; every failure is a
    :class:`ChannelError` (see the module docstring)."""

    def __init__(
        self, loop: BotLoop, *, sessions: sessionmaker[Session] | None, clock: Clock
    ) -> None:
        self.loop = loop
        self.sessions = sessions
        self.clock = clock

    def send_message(
        self,
        chat_id: int,
        rendered: Rendered,
        *,
        thread_id: int | None = None,
        migrated: bool = False,
    ) -> tuple[int, Message]:
        """Send ``rendered``; returns the chat it went to (a migrated group's new id)
        and the message Telegram made of it."""

        def call(bot: Bot) -> Awaitable[Message]:
            return bot.send_message(
                chat_id,
                rendered.text,
                parse_mode="HTML",
                reply_markup=rendered.reply_markup(),  # type: ignore[arg-type]
                disable_web_page_preview=True,
                message_thread_id=thread_id,
            )

        try:
            return chat_id, self.loop.call(chat_id, call)
        except ChatMigrated as exc:
            if migrated:
                raise ChannelError(f"chat {chat_id} migrated twice") from exc
            self._follow_migration(chat_id, exc.new_chat_id)
            return self.send_message(exc.new_chat_id, rendered, thread_id=thread_id, migrated=True)
        except BadRequest as exc:
            if _says(exc, _URL_REFUSED) and any(b.url for b in rendered.buttons):
                return self.send_message(
                    chat_id, rendered.without_urls(), thread_id=thread_id, migrated=migrated
                )
            raise channel_error(exc, chat_id) from exc
        except TelegramError as exc:
            raise channel_error(exc, chat_id) from exc

    def _follow_migration(self, old: int, new: int) -> None:
        logger.info("Telegram chat %s became supergroup %s; following it", old, new)
        if self.sessions is not None:
            with self.sessions() as session, session.begin():
                move_chat(session, old_chat_id=old, new_chat_id=new, now=self.clock.now())

    def edit(self, chat_id: int, message_id: int, rendered: Rendered) -> bool:
        """Edit one message; False when it is gone (nothing left to edit)."""

        def call(bot: Bot) -> Awaitable[Any]:
            return bot.edit_message_text(
                rendered.text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode="HTML",
                reply_markup=rendered.reply_markup(),  # type: ignore[arg-type]
                disable_web_page_preview=True,
            )

        try:
            self.loop.call(chat_id, call)
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            if _says(exc, _EDIT_GONE):
                return False
            raise channel_error(exc, chat_id) from exc
        except TelegramError as exc:
            raise channel_error(exc, chat_id) from exc
        return True

    def answer(self, method: str, params: dict[str, Any]) -> None:
        """Make one queued Bot API call (an answer the webhook owed someone)."""
        chat_id = params.get("chat_id")

        def call(bot: Bot) -> Awaitable[Any]:
            return make_call(bot, method, params)

        limited = isinstance(chat_id, int | str) and method != "answerCallbackQuery"
        try:
            self.loop.call(chat_id if limited else 0, call, limited=limited)  # type: ignore[arg-type]
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            # An answer Telegram refuses (a button query too old…) never gets better.
            raise ChannelError(f"{method}: {exc.message}", permanent=True) from exc
        except TelegramError as exc:
            raise channel_error(exc, chat_id if isinstance(chat_id, int) else 0) from exc
