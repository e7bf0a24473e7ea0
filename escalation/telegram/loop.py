"""One ``telegram.Bot`` on one long-lived event loop, called synchronously from any thread.

The loop runs forever in a daemon thread the :class:`BotLoop` owns; :meth:`BotLoop.call`
submits a coroutine to it (``run_coroutine_threadsafe``) and waits for the result, so
the outbox — or any number of threads — can call the Bot. (Reusing one Bot across
``asyncio.run`` calls breaks on kept-alive connections: notes, python-telegram-bot
#4023.)

Every call that posts into a chat first takes a slot from the deployment's
:class:`~escalation.telegram.limiter.FloodLimiter`. Waiting longer than ``max_wait`` for
one would hold up the outbox behind one chat, so the call is deferred instead: a
:class:`~escalation.channels.base.ChannelError` with ``retry_after``. Telegram's own
errors are raised as python-telegram-bot raises them; mapping them is the caller's job.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from telegram import Bot
from telegram.request import HTTPXRequest

from escalation.channels.base import ChannelError
from escalation.telegram.limiter import FloodLimiter, LimiterBusy
from escalation.telegram.sender_lock import bot_id_of

logger = logging.getLogger("fenghuo.telegram")
T = TypeVar("T")


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


class BotLoop:
    """The Bot, its loop and the flood limiter; see the module docstring for the contract.

    ``closed`` is set when the owner starts closing: from then on every call is refused
    (a :class:`ChannelError`), while calls already made finish; :meth:`shutdown` then
    shuts the Bot down and stops the loop.
    """

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        limiter: FloodLimiter,
        timeout: float,
        max_wait: float,
    ) -> None:
        self.token = token
        self.api_url = api_url
        self.limiter = limiter
        self.timeout = timeout
        self.max_wait = max_wait
        self.closed = threading.Event()
        self._loop = _LoopThread(f"telegram-{bot_id_of(token)}")
        self._bot: Bot | None = None

    def call(
        self, chat_id: int | str, call: Callable[[Bot], Awaitable[T]], *, limited: bool = True
    ) -> T:
        """Make ``call`` with the Bot, after a flood-limiter slot for ``chat_id`` unless
        ``limited`` is false; waits at most ``timeout`` seconds for the answer."""
        return self._run(lambda: self._post(chat_id, call, limited=limited))

    def start(self, work: Callable[[Bot], Awaitable[T]]) -> Future[T]:
        """Run ``work(bot)`` on the loop without waiting for it (a batch of sends that
        takes its own slots); the caller waits on the future, at most ``timeout``."""
        if self.closed.is_set():
            raise ChannelError("the Telegram channel is closed")

        async def go() -> T:
            return await work(await self._get_bot())

        return self._loop.submit(go())

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        if self.closed.is_set():
            raise ChannelError("the Telegram channel is closed")
        future = self._loop.submit(make())
        try:
            return future.result(self.timeout)
        except FutureTimeout:
            future.cancel()
            raise ChannelError(f"Telegram did not answer within {self.timeout:.0f} s") from None

    async def _get_bot(self) -> Bot:
        if self._bot is None:
            request = HTTPXRequest(
                connection_pool_size=16, connect_timeout=5.0, read_timeout=15.0, pool_timeout=15.0
            )
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

    def shutdown(self) -> None:
        """Shut the Bot down and stop the loop (after ``closed`` is set)."""
        if self._bot is not None:
            bot = self._bot
            try:
                self._loop.submit(bot.shutdown()).result(10)
            except Exception:  # shutting down: nothing left to tell
                logger.debug("Telegram bot shutdown failed", exc_info=True)
        self._loop.stop()
