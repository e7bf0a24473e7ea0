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
import queue
import time
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
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

from escalation.channels.base import ChannelError, NotSent
from escalation.telegram.batch import Behind, send_in_turn
from escalation.telegram.calls import make_call
from escalation.telegram.group_links import move_chat
from escalation.telegram.keyboards import Rendered
from escalation.telegram.limiter import LimiterBusy
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


def post_message(
    bot: Bot, chat_id: int, rendered: Rendered, thread_id: int | None = None
) -> Awaitable[Message]:
    """The Bot API call that posts ``rendered`` into ``chat_id``."""
    return bot.send_message(
        chat_id,
        rendered.text,
        parse_mode="HTML",
        reply_markup=rendered.reply_markup(),  # type: ignore[arg-type]
        disable_web_page_preview=True,
        message_thread_id=thread_id,
    )


@dataclass(frozen=True)
class Outgoing:
    """One message of a batch: ``key`` is the caller's, to match the answer."""

    key: int
    chat_id: int
    rendered: Rendered


# A batch's answer per message: the chat it went to and Telegram's message, or why not.
Sent = tuple[int, Message] | ChannelError

# How often (seconds) a caller waiting for a batch's answers looks whether the batch
# ended without them (failed, cancelled); answers themselves are handed back at once.
ANSWERS_EVERY = 0.25


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
            return post_message(bot, chat_id, rendered, thread_id)

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

    def send_batch(
        self, items: Sequence[Outgoing], *, every: float = ANSWERS_EVERY
    ) -> Iterator[list[tuple[Outgoing, Sent]]]:
        """Send ``items`` at once, concurrently within the flood limits
        (:func:`~escalation.telegram.batch.send_in_turn`: in order per chat, a chat that
        would wait longer than ``max_wait`` deferred); yields the answers as they come —
        all those in when the caller asks again — each item exactly once (``every``:
        how often to look whether the batch ended without them).

        A migrated group and a URL button Telegram refused are sent again one by one
        (:meth:`send_message`). Whatever has no answer ``timeout`` seconds after the
        start fails (temporary)."""
        if not items:
            return
        answered: queue.SimpleQueue[tuple[Outgoing, Message | BaseException]] = queue.SimpleQueue()

        def done(item: Outgoing, outcome: Message | BaseException) -> None:
            answered.put((item, outcome))

        async def work(bot: Bot) -> None:
            await send_in_turn(
                self.loop.limiter,
                items,
                chat_of=lambda item: item.chat_id,
                post=lambda item: post_message(bot, item.chat_id, item.rendered),
                done=done,
                max_wait=self.loop.max_wait,
            )

        deadline = time.monotonic() + self.loop.timeout
        pending = {item.key: item for item in items}
        try:
            future = self.loop.start(work)
        except ChannelError as exc:
            yield [(item, exc) for item in items]
            return
        while pending:
            now = time.monotonic()
            if now >= deadline:
                break
            chunk: list[tuple[Outgoing, Message | BaseException]] = []
            try:
                chunk.append(answered.get(timeout=min(deadline - now, every)))
            except queue.Empty:
                if future.done() and answered.empty():
                    break  # the batch ended (or failed) with items unanswered
                continue
            # And every answer already in, so that their copies are recorded together;
            # none is held back waiting for more (a copy recorded late is a duplicate
            # should the worker die before it is).
            while len(chunk) < len(pending):
                try:
                    chunk.append(answered.get_nowait())
                except queue.Empty:
                    break
            for item, _ in chunk:
                pending.pop(item.key, None)
            yield [(item, self._answer(item, outcome)) for item, outcome in chunk]
        if pending:
            future.cancel()
            reason = self._unanswered(future)
            yield [(item, reason) for item in pending.values()]

    def _answer(self, item: Outgoing, outcome: Message | BaseException) -> Sent:
        """A batch's answer for ``item`` as the outbox reads it."""
        if isinstance(outcome, Message):
            return item.chat_id, outcome
        if isinstance(outcome, Behind):
            return NotSent(str(outcome))
        if isinstance(outcome, LimiterBusy):
            return ChannelError(
                f"flood limit for chat {item.chat_id}: next slot in {outcome.seconds:.1f} s",
                retry_after=outcome.seconds,
            )
        refused_url = (
            isinstance(outcome, BadRequest)
            and _says(outcome, _URL_REFUSED)
            and any(b.url for b in item.rendered.buttons)
        )
        if isinstance(outcome, ChatMigrated) or refused_url:
            try:  # rare: the one-by-one path knows how to follow and to strip
                return self.send_message(item.chat_id, item.rendered)
            except ChannelError as exc:
                return exc
        if isinstance(outcome, TelegramError):
            return channel_error(outcome, item.chat_id)
        return ChannelError(f"chat {item.chat_id}: {type(outcome).__name__}: {outcome}")

    def _unanswered(self, future: Any) -> ChannelError:
        if future.done() and not future.cancelled() and future.exception() is not None:
            exc = future.exception()
            if isinstance(exc, TelegramError):
                return channel_error(exc, 0)
            return ChannelError(f"Telegram batch failed: {type(exc).__name__}: {exc}")
        return ChannelError(f"Telegram did not answer within {self.loop.timeout:.0f} s")

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
