"""The Telegram channel: sends the outbox's notices through python-telegram-bot.

One ``telegram.Bot`` lives on one long-lived event loop in a thread the channel owns;
:meth:`TelegramChannel.send` is a synchronous facade (``run_coroutine_threadsafe``), so
the outbox — or any number of threads — can call it. (Reusing one Bot across
``asyncio.run`` calls breaks on kept-alive connections: notes, python-telegram-bot
#4023.) The base URL comes from the settings, for self-hosted Bot API servers and tests.

Limits for the whole deployment: every call that posts into a chat takes a slot from
one :class:`~escalation.telegram.limiter.FloodLimiter` (30/s overall, 1/s per chat,
20/min per group), and only the process holding the bot's *sender lock* sends — a
PostgreSQL advisory lock keyed by the bot id, held on a connection of its own for as
long as the channel lives. (SQLite deployments have a single worker already.) A channel
that does not hold the lock refuses with a short ``retry_after``, so the outbox leaves
the notice for the sender.

Errors, as the outbox understands them (``ChannelError``):

- ``RetryAfter`` → temporary, ``retry_after`` = Telegram's value (an int or, with
  ``PTB_TIMEDELTA``, a timedelta; both are read);
- ``Forbidden`` (blocked, kicked) and "chat not found" → permanent: the destination is
  disabled and the notice falls back;
- ``ChatMigrated`` → the stored chat id is moved to the supergroup and the send retried;
- a URL button Telegram will not take → sent again without it (the link stays in text);
- anything else → temporary.

Besides the outbox's notices the sender keeps two duties of its own, run by a flusher
thread every ``flush_seconds`` (and by :meth:`flush`): edit every alert copy whose
chain has been acknowledged (``copies.edits_owed``), post group copies
(``copies.group_posts_owed``), and send the answers the webhook queued
(``answers.due``). They are derived from the database, so a restart or an outage loses
none of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text
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
from telegram.request import HTTPXRequest

from escalation.channels.base import ChannelError, OutgoingMessage, Receipt, register
from escalation.telegram import answers, copies
from escalation.telegram.calls import make_call
from escalation.telegram.limiter import FloodLimiter, LimiterBusy
from escalation.telegram.linking import move_chat
from escalation.telegram.messages import (
    AlertFacts,
    Deadline,
    Rendered,
    acknowledged_copy,
    render_notice,
)
from incidents.clock import Clock, SystemClock

logger = logging.getLogger("fenghuo.telegram")
T = TypeVar("T")

DEFAULT_API_URL = "https://api.telegram.org/bot"
LOCK_RETRY_SECONDS = 15.0
_URL_REFUSED = ("wrong http url", "button_url_invalid", "url host is empty")
_CHAT_GONE = ("chat not found", "user is deactivated", "peer_id_invalid")
_EDIT_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")

# python-telegram-bot 22 warns on every RetryAfter unless told to use timedeltas; the
# channel reads both forms, so it opts in (it never changes the value's meaning).
os.environ.setdefault("PTB_TIMEDELTA", "true")


def retry_seconds(value: int | float | timedelta) -> float:
    """Telegram's ``retry_after`` in seconds, whichever form PTB gave it in."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def bot_id_of(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 0


def lock_key(token: str) -> int:
    """A signed 64-bit advisory-lock key for the bot (its id, in a Fenghuo namespace)."""
    digest = hashlib.sha256(f"fenghuo:telegram-sender:{bot_id_of(token)}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SenderLock:
    """Only one process sends for a bot token: a PostgreSQL session advisory lock.

    Held on a connection of its own for as long as the channel lives; if that
    connection dies, PostgreSQL releases the lock and another worker takes over. On
    SQLite there is one worker by construction (issue 3), so the lock always succeeds.
    """

    def __init__(self, sessions: sessionmaker[Session] | None, token: str) -> None:
        self._sessions = sessions
        self._key = lock_key(token)
        self._connection: Connection | None = None
        self._guard = threading.Lock()
        self.held = False

    def acquire(self) -> bool:
        with self._guard:
            if self.held:
                return True
            engine = self._sessions.kw.get("bind") if self._sessions is not None else None
            if engine is None or engine.dialect.name != "postgresql":
                self.held = True
                return True
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                ).scalar()
            )
            if got:
                self._connection, self.held = connection, True
            else:
                connection.close()
            return got

    def release(self) -> None:
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                    )
                finally:
                    self._connection.close()
                    self._connection = None
            self.held = False


class _LoopThread:
    """An event loop running forever in a daemon thread; coroutines are submitted to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Awaitable[T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


@register("telegram")
class TelegramChannel:
    """Sends notices to Telegram chats; see the module docstring for the contract."""

    kind = "telegram"

    def __init__(
        self,
        *,
        token: str,
        session_factory: sessionmaker[Session] | None,
        api_url: str = DEFAULT_API_URL,
        public_url: str = "",
        redact_titles: bool = False,
        tz: tzinfo = UTC,
        clock: Clock | None = None,
        limiter: FloodLimiter | None = None,
        timeout: float = 60.0,
        max_wait: float = 2.0,
        flush_seconds: float | None = 1.0,
    ) -> None:
        if ":" not in token:
            raise ValueError("a bot token looks like <bot id>:<secret>")
        self.token = token
        self.sessions = session_factory
        self.api_url = api_url
        self.public_url = public_url
        self.redact_titles = redact_titles
        self.tz = tz
        self.clock: Clock = clock or SystemClock()
        self.limiter = limiter or FloodLimiter()
        self.timeout = timeout
        self.max_wait = max_wait
        self.lock = SenderLock(session_factory, token)
        self._loop = _LoopThread(f"telegram-{bot_id_of(token)}")
        self._bot: Bot | None = None
        self._closed = threading.Event()
        self._group_since: datetime | None = None
        self._flusher: threading.Thread | None = None
        if flush_seconds is not None and session_factory is not None:
            self._flusher = threading.Thread(
                target=self._flush_forever,
                args=(flush_seconds,),
                name="telegram-flush",
                daemon=True,
            )
            self._flusher.start()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TelegramChannel:
        """Settings: ``token`` (required), ``session_factory``, ``api_url``, ``public_url``,
        ``redact_titles``, ``timezone`` (a zone name), ``clock``, ``flush_seconds``."""
        token = settings.get("token")
        if not token:
            raise ValueError("Telegram is off: FENGHUO_TELEGRAM_TOKEN is not set")
        zone = settings.get("timezone")
        return cls(
            token=str(token),
            session_factory=settings.get("session_factory"),
            api_url=str(settings.get("api_url") or DEFAULT_API_URL),
            public_url=str(settings.get("public_url") or ""),
            redact_titles=bool(settings.get("redact_titles", False)),
            tz=ZoneInfo(zone) if isinstance(zone, str) else UTC,
            clock=settings.get("clock"),
            flush_seconds=settings.get("flush_seconds", 1.0),
        )

    # --- the loop ------------------------------------------------------------------------

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        if self._closed.is_set():
            raise ChannelError("the Telegram channel is closed")
        future = self._loop.submit(make())
        try:
            return future.result(self.timeout)
        except FutureTimeout:
            future.cancel()
            raise ChannelError(f"Telegram did not answer within {self.timeout:.0f} s") from None

    async def _get_bot(self) -> Bot:
        if self._bot is None:
            request = HTTPXRequest(connection_pool_size=64, connect_timeout=5.0, read_timeout=15.0)
            self._bot = Bot(self.token, base_url=self.api_url, request=request)
        # getMe checks the token and the base URL; a no-op once it has succeeded, and
        # tried again on the next call while Telegram cannot be reached.
        await self._bot.initialize()
        return self._bot

    async def _post(
        self, chat_id: int | str, call: Callable[[Bot], Awaitable[T]], *, limited: bool = True
    ) -> T:
        bot = await self._get_bot()
        if not limited:
            return await call(bot)
        try:
            async with self.limiter.slot(chat_id, self.max_wait):
                return await call(bot)
        except LimiterBusy as busy:
            # Waiting longer would hold up the outbox behind one chat: defer instead.
            raise ChannelError(
                f"flood limit for chat {chat_id}: next slot in {busy.seconds:.1f} s",
                retry_after=busy.seconds,
            ) from None

    def close(self) -> None:
        """Stop the flusher, shut the Bot down, stop the loop, release the sender lock."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._flusher is not None:
            self._flusher.join(timeout=10)
        if self._bot is not None:
            bot = self._bot
            try:
                self._loop.submit(bot.shutdown()).result(10)
            except Exception:  # shutting down: nothing left to tell
                logger.debug("Telegram bot shutdown failed", exc_info=True)
        self._loop.stop()
        self.lock.release()

    def __enter__(self) -> TelegramChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the outbox's interface ----------------------------------------------------------

    def accepting(self) -> bool:
        """Only the process holding the bot's sender lock takes Telegram rows."""
        return self.lock.acquire()

    def send(self, message: OutgoingMessage) -> Receipt:
        """Deliver one notice: a new message, or for ``acknowledged`` the edit of the
        alert copies in that chat (a new short notice when there are none)."""
        if not self.lock.acquire():
            raise ChannelError(
                "another worker is sending for this Telegram bot", retry_after=LOCK_RETRY_SECONDS
            )
        try:
            chat_id = int(message.destination_address)
        except ValueError:
            raise ChannelError(
                f"not a Telegram chat id: {message.destination_address!r}", permanent=True
            ) from None
        if message.kind == "acknowledged" and self.sessions is not None:
            receipt = self._edit_chat(chat_id, message.incident_id)
            if receipt is not None:
                return receipt
        context = self._context(message)
        if self.sessions is not None and message.attempt > 1:
            # Only a retry can find a copy sent before a crash.
            with self.sessions() as session:
                earlier = copies.existing_copy(session, message.notification_id, chat_id)
                if earlier is not None:  # sent before a crash: do not send twice
                    return Receipt(f"{earlier.chat_id}:{earlier.message_id}")
        now = self.clock.now()
        rendered = render_notice(
            context.facts,
            language=context.language,
            public_url=self.public_url,
            redact_titles=self.redact_titles,
            tz=self.tz,
            now=now,
        )
        sent_chat, sent = self._send_message(chat_id, rendered)
        if self.sessions is not None:
            with self.sessions() as session, session.begin():
                copies.record_copy(
                    session,
                    chat_id=sent_chat,
                    message_id=sent.message_id,
                    context=context,
                    notification_id=message.notification_id,
                    text=rendered.text,
                    now=self.clock.now(),
                )
        return Receipt(f"{sent_chat}:{sent.message_id}")

    def _context(self, message: OutgoingMessage) -> copies.SendContext:
        deadline = None
        if message.deadline_at is not None:
            deadline = Deadline(
                message.deadline_title_zh or message.deadline_name or "",
                message.deadline_title_en or message.deadline_name or "",
                message.deadline_at,
            )
        facts = AlertFacts(
            incident_id=message.incident_id,
            number=message.incident_number,
            grade=message.grade,
            category=message.category,
            title=message.title,
            kind=message.kind,
            status="resolved" if message.kind == "resolved" else "",
            deadline=deadline,
        )
        # The timer and chain are looked up when the copy is recorded (one transaction
        # per send keeps the outbox's pace up on SQLite).
        return copies.SendContext(
            facts, message.recipient_language, message.incident_id, None, None
        )

    # --- calls, with the errors mapped -------------------------------------------------

    def _send_message(
        self,
        chat_id: int,
        rendered: Rendered,
        *,
        thread_id: int | None = None,
        migrated: bool = False,
    ) -> tuple[int, Message]:
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
            return chat_id, self._run(lambda: self._post(chat_id, call))
        except ChatMigrated as exc:
            if migrated:
                raise ChannelError(f"chat {chat_id} migrated twice") from exc
            self._follow_migration(chat_id, exc.new_chat_id)
            return self._send_message(exc.new_chat_id, rendered, thread_id=thread_id, migrated=True)
        except BadRequest as exc:
            if _says(exc, _URL_REFUSED) and any(b.url for b in rendered.buttons):
                return self._send_message(
                    chat_id, rendered.without_urls(), thread_id=thread_id, migrated=migrated
                )
            raise self._mapped(exc, chat_id) from exc
        except TelegramError as exc:
            raise self._mapped(exc, chat_id) from exc

    def _mapped(self, exc: TelegramError, chat_id: int) -> ChannelError:
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

    def _follow_migration(self, old: int, new: int) -> None:
        logger.info("Telegram chat %s became supergroup %s; following it", old, new)
        if self.sessions is not None:
            with self.sessions() as session, session.begin():
                move_chat(session, old_chat_id=old, new_chat_id=new, now=self.clock.now())

    def _edit(self, chat_id: int, message_id: int, rendered: Rendered) -> bool:
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
            self._run(lambda: self._post(chat_id, call))
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            if _says(exc, _EDIT_GONE):
                return False
            raise self._mapped(exc, chat_id) from exc
        except TelegramError as exc:
            raise self._mapped(exc, chat_id) from exc
        return True

    # --- the sender's own duties ---------------------------------------------------------

    def _edit_chat(self, chat_id: int | None, incident_id: int | None) -> Receipt | None:
        """Edit the acknowledged copies (in one chat, of one incident, or all owed);
        the receipt of the last edit, or None when none was owed."""
        assert self.sessions is not None
        with self.sessions() as session:
            owed = copies.edits_owed(session, chat_id=chat_id, incident_id=incident_id)
        receipt = None
        for edit in owed:
            now = self.clock.now()
            rendered = acknowledged_copy(
                edit.text,
                incident_id=edit.incident_id,
                who=edit.who,
                at=edit.at,
                language=edit.language,
                public_url=self.public_url,
                tz=self.tz,
                now=now,
            )
            try:
                self._edit(edit.chat_id, edit.message_id, rendered)
            except ChannelError as exc:
                if not exc.permanent:
                    raise
                # The chat is gone or blocked the bot: there is nothing left to edit.
                logger.info("Telegram copy %s not edited: %s", edit.copy_id, exc.reason)
            with self.sessions() as session, session.begin():
                copies.mark_edited(session, edit.copy_id, now)
            receipt = Receipt(f"{edit.chat_id}:{edit.message_id}")
        return receipt

    def flush(self) -> int:
        """One pass of the sender's own duties; returns the Bot API calls made.

        Does nothing unless this process holds the sender lock.
        """
        if self.sessions is None or not self.lock.acquire():
            return 0
        calls = 0
        try:
            while True:
                with self.sessions() as session:
                    owed = len(copies.edits_owed(session))
                if not owed or self._edit_chat(None, None) is None:
                    break
                calls += owed
            calls += self._post_groups()
            calls += answers.deliver_due(self.sessions, self._call_answer, self.clock.now())
        except ChannelError as exc:
            logger.warning("Telegram sender: %s", exc.reason)
        return calls

    def _post_groups(self) -> int:
        assert self.sessions is not None
        now = self.clock.now()
        since = self._group_since or now - copies.GROUP_LOOKBACK
        with self.sessions() as session:
            owed = copies.group_posts_owed(session, since=since)
        posted = 0
        for post in owed:
            with self.sessions() as session:
                context = copies.group_context(session, post)
            if context is None:
                continue
            rendered = render_notice(
                context.facts,
                language=context.language,
                public_url=self.public_url,
                redact_titles=self.redact_titles,
                tz=self.tz,
                now=self.clock.now(),
            )
            try:
                sent_chat, sent = self._send_message(
                    post.chat_id, rendered, thread_id=post.message_thread_id
                )
            except ChannelError as exc:
                if not exc.permanent:
                    raise
                with self.sessions() as session, session.begin():
                    copies.disable_group(session, post.chat_id, exc.reason, self.clock.now())
                continue
            with self.sessions() as session, session.begin():
                copies.record_copy(
                    session,
                    chat_id=sent_chat,
                    message_id=sent.message_id,
                    context=context,
                    notification_id=None,
                    text=rendered.text,
                    now=self.clock.now(),
                )
            posted += 1
        # Overlap the next look a little: a transaction may commit a firing stamped
        # slightly before this pass.
        self._group_since = now - timedelta(minutes=5)
        return posted

    def _call_answer(self, method: str, params: dict[str, Any]) -> None:
        """Make one queued Bot API call (an answer the webhook owed someone)."""
        chat_id = params.get("chat_id")

        def call(bot: Bot) -> Awaitable[Any]:
            return make_call(bot, method, params)

        limited = isinstance(chat_id, int | str) and method != "answerCallbackQuery"
        try:
            self._run(
                lambda: self._post(chat_id if limited else 0, call, limited=limited)  # type: ignore[arg-type]
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            # An answer Telegram refuses (a button query too old…) never gets better.
            raise ChannelError(f"{method}: {exc.message}", permanent=True) from exc
        except TelegramError as exc:
            raise self._mapped(exc, chat_id if isinstance(chat_id, int) else 0) from exc

    def _flush_forever(self, every: float) -> None:
        while not self._closed.wait(every):
            try:
                self.flush()
            except Exception:  # keep the sender alive; the next pass retries
                logger.exception("Telegram sender pass failed")


def _says(exc: TelegramError, fragments: tuple[str, ...]) -> bool:
    message = exc.message.lower()
    return any(f in message for f in fragments)
