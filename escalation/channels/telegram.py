"""The Telegram channel: sends the outbox's notices through python-telegram-bot.

:class:`TelegramChannel` is the outbox's interface — :meth:`~TelegramChannel.send`,
:meth:`~TelegramChannel.accepting`, :meth:`~TelegramChannel.close` and
:meth:`~TelegramChannel.from_settings` — over parts that live in ``escalation.telegram``:

- one ``telegram.Bot`` on one long-lived event loop in a thread the channel owns
  (``loop``); ``send`` is a synchronous facade over it, so the outbox — or any number
  of threads — can call it. The base URL comes from the settings, for self-hosted Bot
  API servers and tests;
- the calls into chats, with Telegram's errors mapped to ``ChannelError`` (``sending``:
  flood control is temporary with Telegram's ``retry_after``, a blocked bot or a chat
  that is gone is permanent, a migrated group is followed);
- the sender lock (``sender_lock``) and the sender's own duties (``flush``).

Limits for the whole deployment: every call that posts into a chat takes a slot from
one :class:`~escalation.telegram.limiter.FloodLimiter` (30/s overall, 1/s per chat,
20/min per group), and only the process holding the bot's *sender lock* sends — a
PostgreSQL advisory lock keyed by the bot id, held on a connection of its own for as
long as the channel lives. (SQLite deployments have a single worker already.) A channel
that does not hold the lock refuses with a short ``retry_after``, so the outbox leaves
the notice for the sender.

Besides the outbox's notices the sender keeps two duties of its own, run by a flusher
thread every ``flush_seconds`` (and by :meth:`~TelegramChannel.flush`): edit every alert
copy whose chain has been acknowledged, post group copies, and send the answers the
webhook queued. They are derived from the database, so a restart or an outage loses
none of them.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import ChannelError, OutgoingMessage, Receipt, register
from escalation.telegram import copies
from escalation.telegram.flush import SenderDuties
from escalation.telegram.keyboards import Rendered
from escalation.telegram.labels import Deadline
from escalation.telegram.limiter import FloodLimiter
from escalation.telegram.loop import BotLoop
from escalation.telegram.messages import AlertFacts, render_notice
from escalation.telegram.models import TelegramMessage
from escalation.telegram.sender_lock import SenderLock, bot_id_of, lock_key
from escalation.telegram.sending import ChatCalls, Outgoing, retry_seconds
from incidents.clock import Clock, SystemClock

# SenderLock, lock_key, bot_id_of and retry_seconds lived here first (now in
# escalation.telegram); tests and tools import them from here still.
__all__ = [
    "DEFAULT_API_URL",
    "LOCK_RETRY_SECONDS",
    "SenderLock",
    "TelegramChannel",
    "bot_id_of",
    "lock_key",
    "retry_seconds",
]

DEFAULT_API_URL = "https://api.telegram.org/bot"
LOCK_RETRY_SECONDS = 15.0


@register("telegram")
class TelegramChannel:
    """Sends notices to Telegram chats; see the module docstring for the contract."""

    kind = "telegram"
    # A notice sent again after a crash (attempt > 1) finds the copy recorded after the
    # first send and is not posted twice: the outbox may batch this channel's write-backs.
    idempotent = True
    # Messages per send_many: about one second of the overall limit (30 a second), so a
    # batch goes within about a second and the next is claimed while the window refills.
    batch_size = 30

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
        self.lock = SenderLock(session_factory, token)
        self._loop = BotLoop(
            token=token,
            api_url=api_url,
            limiter=self.limiter,
            timeout=timeout,
            max_wait=max_wait,
        )
        self._calls = ChatCalls(self._loop, sessions=session_factory, clock=self.clock)
        self._duties: SenderDuties | None = None
        self._flusher: threading.Thread | None = None
        if session_factory is not None:
            self._duties = SenderDuties(
                sessions=session_factory,
                calls=self._calls,
                lock=self.lock,
                clock=self.clock,
                public_url=public_url,
                redact_titles=redact_titles,
                tz=tz,
            )
            if flush_seconds is not None:
                self._flusher = threading.Thread(
                    target=self._duties.run_forever,
                    args=(flush_seconds, self._loop.closed),
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

    @property
    def timeout(self) -> float:
        """Seconds a Bot API call may take before it counts as failed."""
        return self._loop.timeout

    @property
    def max_wait(self) -> float:
        """Seconds a call may wait for a flood-limiter slot before it is deferred."""
        return self._loop.max_wait

    def close(self) -> None:
        """Stop the flusher, shut the Bot down, stop the loop, release the sender lock."""
        if self._loop.closed.is_set():
            return
        self._loop.closed.set()
        if self._flusher is not None:
            self._flusher.join(timeout=10)
        self._loop.shutdown()
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
        if message.bulletin_id is not None:
            return self._send_bulletin(chat_id, message)
        if message.kind == "acknowledged" and self._duties is not None:
            receipt = self._duties.edit_acknowledged(chat_id, message.incident_id)
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
        sent_chat, sent = self._calls.send_message(chat_id, rendered)
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

    def send_many(self, messages: Sequence[OutgoingMessage]) -> list[Receipt | ChannelError]:
        """Deliver a batch at once: the notices concurrently within the flood limits
        (``ChatCalls.send_batch``: in order per chat, a chat that would wait longer than
        ``max_wait`` deferred with ``retry_after``), their copies recorded a few at a
        time as Telegram answers; bulletins and acknowledgement edits one by one, as
        :meth:`send`. One answer per message, in order."""
        if not self.lock.acquire():
            busy = ChannelError(
                "another worker is sending for this Telegram bot", retry_after=LOCK_RETRY_SECONDS
            )
            return [busy for _ in messages]
        results: list[Receipt | ChannelError | None] = [None] * len(messages)
        chats: dict[int, int] = {}
        for i, message in enumerate(messages):
            try:
                chats[i] = int(message.destination_address)
            except ValueError:
                results[i] = ChannelError(
                    f"not a Telegram chat id: {message.destination_address!r}", permanent=True
                )
        # Only a retry can find a copy sent before a crash.
        earlier: dict[tuple[int, int], TelegramMessage] = {}
        retried = [
            (messages[i].notification_id, c) for i, c in chats.items() if messages[i].attempt > 1
        ]
        if retried and self.sessions is not None:
            with self.sessions() as session:
                earlier = copies.existing_copies(session, retried)
        now = self.clock.now()
        outgoing: list[Outgoing] = []
        contexts: dict[int, copies.SendContext] = {}
        for i, chat_id in chats.items():
            message = messages[i]
            if message.bulletin_id is not None or message.kind == "acknowledged":
                try:  # rare, and each its own path: one by one
                    results[i] = self.send(message)
                except ChannelError as exc:
                    results[i] = exc
                continue
            copy = earlier.get((message.notification_id, chat_id))
            if copy is not None:  # sent before a crash: do not send twice
                results[i] = Receipt(f"{copy.chat_id}:{copy.message_id}")
                continue
            contexts[i] = self._context(message)
            rendered = render_notice(
                contexts[i].facts,
                language=contexts[i].language,
                public_url=self.public_url,
                redact_titles=self.redact_titles,
                tz=self.tz,
                now=now,
            )
            outgoing.append(Outgoing(i, chat_id, rendered))
        for answers in self._calls.send_batch(outgoing):
            made: list[copies.NewCopy] = []
            for item, answer in answers:
                if isinstance(answer, ChannelError):
                    results[item.key] = answer
                    continue
                sent_chat, sent = answer
                results[item.key] = Receipt(f"{sent_chat}:{sent.message_id}")
                made.append(
                    copies.NewCopy(
                        sent_chat,
                        sent.message_id,
                        contexts[item.key],
                        messages[item.key].notification_id,
                        item.rendered.text,
                    )
                )
            if made and self.sessions is not None:
                with self.sessions() as session, session.begin():
                    copies.record_copies(session, made, now=self.clock.now())
        return [
            r if r is not None else ChannelError("the Telegram batch gave no answer")
            for r in results
        ]

    def _send_bulletin(self, chat_id: int, message: OutgoingMessage) -> Receipt:
        """A notice about no incident: its text and the link, no buttons, no copy kept
        (nothing to edit later); escalation.bulletins sends each once."""
        lines = [html.escape(line) for line in message.text.strip().splitlines()]
        if message.link_path and self.public_url:
            lines += ["", html.escape(self.public_url + message.link_path)]
        sent_chat, sent = self._calls.send_message(chat_id, Rendered("\n".join(lines)))
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
            receipt_id=message.receipt_id,
            # An inform says why the leader is told (and a report carries its items).
            extra=_body_lines(message) if message.kind in ("inform", "report") else (),
        )
        # The timer and chain are looked up when the copy is recorded (one transaction
        # per send keeps the outbox's pace up on SQLite).
        return copies.SendContext(
            facts, message.recipient_language, message.incident_id, None, None
        )

    # --- the sender's own duties ---------------------------------------------------------

    def flush(self) -> int:
        """One pass of the sender's own duties; returns the Bot API calls made.

        Does nothing unless this process holds the sender lock (or without a database).
        """
        return self._duties.flush() if self._duties is not None else 0


def _body_lines(message: OutgoingMessage) -> tuple[str, ...]:
    """The notice's own words after the head that Telegram's text already shows."""
    body = message.text
    for mark in ("」:", "」", "” — ", "”: ", "” "):
        if mark in body:
            body = body.split(mark, 1)[1]
            break
    return tuple(line for line in body.splitlines() if line.strip())
