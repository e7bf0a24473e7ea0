"""Telegram's flood limits, kept by the one process that sends for a bot token.

Telegram allows about 30 messages a second overall, one a second per chat (short bursts
tolerated) and 20 a minute per group (Bot FAQ; ``telegram.constants.FloodLimit``).
Going over earns a 429 and, repeated, a longer ban, so the sender stays under the
limits instead of relying on 429s.

Each send takes a slot for its chat and gives it back when Telegram has answered. A
slot counts against the windows from the moment it is taken until its *answer* plus
the window: Telegram counts a message when it receives it, which is between the two,
so the limits hold whatever the latency, with no safety margin to tune. The cost is
one round trip per window, a few milliseconds.

Contract: at most ``overall`` slots are taken within any ``window_seconds`` (counted as
above), consecutive slots of one private chat are ``chat_interval`` seconds apart, and
a group chat (negative id or ``@name``) gets at most ``group_per_minute`` per 60 s and
also keeps the per-chat spacing. Runs on one event loop; not thread-safe.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

ChatKey = int | str


def is_group(chat_id: ChatKey) -> bool:
    return isinstance(chat_id, str) or chat_id < 0


@dataclass
class _Stamp:
    """A slot: ``at`` is None while its request is in flight, then its answer's time."""

    at: float | None = None


@dataclass
class _Window:
    capacity: int
    seconds: float
    stamps: deque[_Stamp] = field(default_factory=deque)

    def wait(self, now: float) -> float | None:
        """0 if one more fits now; seconds to wait; None to wait for an answer."""
        while (
            self.stamps
            and self.stamps[0].at is not None
            and self.stamps[0].at <= now - self.seconds
        ):
            self.stamps.popleft()
        live = [s for s in self.stamps if s.at is None or s.at > now - self.seconds]
        if len(live) < self.capacity:
            return 0.0
        done = [s.at for s in live if s.at is not None]
        return min(done) + self.seconds - now if done else None


class LimiterBusy(Exception):
    """The chat's next slot is further away than the caller will wait."""

    def __init__(self, chat_id: ChatKey, seconds: float) -> None:
        super().__init__(f"chat {chat_id}: next slot in {seconds:.1f} s")
        self.chat_id = chat_id
        self.seconds = seconds


class FloodLimiter:
    """Slots for sends, within Telegram's limits (see the module docstring)."""

    def __init__(
        self,
        *,
        overall: int = 30,
        window_seconds: float = 1.0,
        chat_interval: float = 1.0,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self._overall = _Window(overall, window_seconds)
        self._chat_interval = chat_interval
        self._group_per_minute = group_per_minute
        self._chats: dict[ChatKey, _Stamp] = {}
        self._groups: dict[ChatKey, _Window] = {}
        self._changed: asyncio.Event | None = None
        self.waited = 0.0  # seconds spent waiting for slots, for figures

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wait_for(self, chat_id: ChatKey, now: float) -> float | None:
        waits: list[float | None] = [self._overall.wait(now)]
        last = self._chats.get(chat_id)
        if last is not None:
            waits.append(None if last.at is None else last.at + self._chat_interval - now)
        if is_group(chat_id):
            group = self._groups.setdefault(chat_id, _Window(self._group_per_minute, 60.0))
            waits.append(group.wait(now))
        if any(w is None for w in waits):
            return None
        return max(0.0, *(w for w in waits if w is not None))

    async def acquire(self, chat_id: ChatKey, max_wait: float | None = None) -> _Stamp:
        """Wait until a message to ``chat_id`` fits, and take the slot.

        Raises :class:`LimiterBusy` instead of waiting longer than ``max_wait`` seconds in
        all (a sender that must not stall — a group's 21st message in a minute, a chat
        whose previous message is still in flight — defers). A wait for an answer has no
        known length: it is given what is left of ``max_wait``, then refused.
        """
        started = self.clock()
        while True:
            now = self.clock()
            wait = self._wait_for(chat_id, now)
            if wait == 0.0:
                break
            left = None if max_wait is None else max_wait - (now - started)
            if left is not None:
                if wait is not None and wait > left:
                    raise LimiterBusy(chat_id, wait)
                if wait is None and left <= 0:
                    # Still waiting for an answer: try again a chat interval later.
                    raise LimiterBusy(chat_id, self._chat_interval)
            event = self._event()
            event.clear()
            # Re-check when any slot is answered, or when the wait (or the budget) is over.
            timeout = wait if wait is not None else left
            if timeout is None:
                await event.wait()
            else:
                with suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=timeout)
        stamp = _Stamp()
        self._overall.stamps.append(stamp)
        self._chats[chat_id] = stamp
        if is_group(chat_id):
            self._groups[chat_id].stamps.append(stamp)
        self.waited += self.clock() - started
        return stamp

    def release(self, stamp: _Stamp) -> None:
        """The request of ``stamp`` was answered (or failed): start its windows now."""
        stamp.at = self.clock()
        if self._changed is not None:
            self._changed.set()

    @asynccontextmanager
    async def slot(self, chat_id: ChatKey, max_wait: float | None = None) -> AsyncIterator[None]:
        stamp = await self.acquire(chat_id, max_wait)
        try:
            yield
        finally:
            self.release(stamp)

    def chat_wait(self, chat_id: ChatKey) -> float | None:
        """Seconds until ``chat_id``'s own limits (its spacing, a group's minute) allow a
        message, whatever the overall window says; None while its last message is in
        flight. A batch sender defers a chat that would wait too long by this, and
        waits in :meth:`acquire` only for the overall window, which always opens."""
        now = self.clock()
        waits: list[float] = [0.0]
        last = self._chats.get(chat_id)
        if last is not None:
            if last.at is None:
                return None
            waits.append(last.at + self._chat_interval - now)
        if is_group(chat_id):
            group = self._groups.setdefault(chat_id, _Window(self._group_per_minute, 60.0))
            wait = group.wait(now)
            if wait is None:
                return None
            waits.append(wait)
        return max(waits)

    def free_in(self, chat_id: ChatKey) -> float:
        """Seconds until a message to ``chat_id`` would fit (0: now); for schedulers."""
        wait = self._wait_for(chat_id, self.clock())
        return self._chat_interval if wait is None else wait
