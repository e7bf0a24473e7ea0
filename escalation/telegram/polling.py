"""Polling that survives Telegram being away, and says how it is (its heartbeat).

``Application.run_polling`` gives up when its first ``getMe`` fails, which took the
whole of ``fenghuo run`` down with it when Telegram could not be reached at start
(issue 9). :func:`poll_forever` instead

- builds the application, initialises it (``getMe``), runs its ``post_init`` and starts
  polling; while any of that fails it waits with exponential backoff
  (:data:`FIRST_RETRY` doubling up to :data:`MAX_RETRY`) and tries again with a fresh
  application;
- beats the bot's heartbeat row (``bot:<bot id>``, :mod:`escalation.health`) at least
  every ``BOT_BEAT``: ``starting`` before the first success, ``polling`` while polls
  succeed, and a reason code (``unreachable``, ``timeout``, ``bad_token``, ``conflict``)
  while they fail — never the exception's text;
- stops cleanly on SIGTERM or SIGINT (or when ``stop`` is set), and removes its row.

Errors while polling (after a good start) are retried by PTB's updater itself; the
updater's ``error_callback`` marks the bot unhealthy until a quiet spell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application

from escalation import health
from incidents.clock import Clock

logger = logging.getLogger("fenghuo.telegram.bot")

FIRST_RETRY = 1.0
MAX_RETRY = 60.0
# A poll error marks the bot unhealthy for this long (PTB retries by itself meanwhile).
QUIET_SECONDS = 30.0
# A stop waits this long for a poll to end by itself before it is cancelled.
STOP_SECONDS = 5.0

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def failure_code(exc: BaseException) -> str:
    """The reason code for a failure to reach or use the Bot API."""
    if isinstance(exc, InvalidToken):
        return "bad_token"
    if isinstance(exc, Conflict):
        return "conflict"
    if isinstance(exc, TimedOut):
        return "timeout"
    if isinstance(exc, NetworkError | OSError):
        return "unreachable"
    return "error"


class BotHeartbeat:
    """The bot's row in ``heartbeat``, written from a worker thread."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, token: str) -> None:
        self.sessions = sessions
        self.clock = clock
        self.name = f"bot:{token.split(':', 1)[0]}"
        self.started_at: datetime = clock.now()
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def beat(self, detail: str, *, healthy: bool) -> None:
        try:
            with self.sessions() as session, session.begin():
                health.beat(
                    session,
                    name=self.name,
                    kind="bot",
                    now=self.clock.now(),
                    started_at=self.started_at,
                    healthy=healthy,
                    detail=detail,
                    host=self.host,
                    pid=self.pid,
                )
        except Exception:
            logger.warning("could not record the bot's heartbeat", exc_info=True)

    def forget(self) -> None:
        try:
            with self.sessions() as session, session.begin():
                health.forget(session, self.name)
        except Exception:
            logger.warning("could not remove the bot's heartbeat", exc_info=True)


def poll_forever(
    make_application: Callable[[], AnyApplication],
    *,
    heartbeat: BotHeartbeat,
    allowed_updates: list[str],
    stop: threading.Event | None = None,
    first_retry: float = FIRST_RETRY,
    max_retry: float = MAX_RETRY,
) -> None:
    """Poll until SIGTERM/SIGINT (main thread) or ``stop``; see the module docstring."""
    asyncio.run(
        _poll_forever(
            make_application,
            heartbeat=heartbeat,
            allowed_updates=allowed_updates,
            stop=stop,
            first_retry=first_retry,
            max_retry=max_retry,
        )
    )


async def _poll_forever(
    make_application: Callable[[], AnyApplication],
    *,
    heartbeat: BotHeartbeat,
    allowed_updates: list[str],
    stop: threading.Event | None,
    first_retry: float,
    max_retry: float,
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    if stop is not None:

        def relay(asked: threading.Event = stop) -> None:
            asked.wait()
            loop.call_soon_threadsafe(stopping.set)

        threading.Thread(target=relay, name="bot-stop", daemon=True).start()
    await asyncio.to_thread(heartbeat.beat, "starting", healthy=False)
    delay = first_retry
    last_code = ""
    try:
        while not stopping.is_set():
            try:
                await _until_stopped(
                    _poll(
                        make_application(),
                        heartbeat=heartbeat,
                        allowed_updates=allowed_updates,
                        stopping=stopping,
                    ),
                    stopping,
                )
                delay = first_retry
            except (TelegramError, OSError) as exc:
                code = failure_code(exc)
                if code != last_code:  # once per change, not every retry
                    logger.warning(
                        "Telegram cannot be reached (%s: %s); retrying with backoff",
                        code,
                        exc,
                    )
                    last_code = code
                await asyncio.to_thread(heartbeat.beat, code, healthy=False)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=delay)
                delay = min(delay * 2, max_retry)
    finally:
        await asyncio.to_thread(heartbeat.forget)


async def _until_stopped(work: Coroutine[Any, Any, None], stopping: asyncio.Event) -> None:
    """Run ``work``; once ``stopping`` is set give it :data:`STOP_SECONDS` to finish (a
    poll ends by itself), then cancel it (a start still trying to reach Telegram)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=STOP_SECONDS)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError, OSError):
                await task
            return
        task.result()
    finally:
        stopper.cancel()


async def _poll(
    application: AnyApplication,
    *,
    heartbeat: BotHeartbeat,
    allowed_updates: list[str],
    stopping: asyncio.Event,
) -> None:
    """One life of the application: start, poll and beat until ``stopping``."""
    last_error: list[tuple[float, str]] = []

    def on_error(exc: TelegramError) -> None:
        code = failure_code(exc)
        if not last_error or last_error[-1][1] != code:
            logger.warning("Telegram poll failed (%s): %s", code, exc)
        last_error[:] = [(time.monotonic(), code)]

    async with application:  # initialize: getMe checks the token and the URL
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        try:
            await application.updater.start_polling(
                allowed_updates=allowed_updates, error_callback=on_error
            )
        except BaseException:  # stopped, so that leaving ``async with`` can shut it down
            await application.stop()
            raise
        logger.info("Telegram bot polling")
        try:
            while not stopping.is_set():
                failing = bool(last_error) and time.monotonic() - last_error[-1][0] < QUIET_SECONDS
                detail = last_error[-1][1] if failing else "polling"
                await asyncio.to_thread(heartbeat.beat, detail, healthy=not failing)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=health.BOT_BEAT.total_seconds())
        finally:
            await application.updater.stop()
            await application.stop()
