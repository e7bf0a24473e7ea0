"""Telegram's flood limits, as sliding windows over accepted messages.

Accepted sendMessage and editMessageText calls count against a sliding 1 s window
overall (``global_per_second``), a spacing of ``1 / per_chat_per_second`` seconds per
private chat, and a sliding 60 s window per group chat (``per_group_per_minute``;
negative ids and ``@names`` are groups). An excess call is answered 429 with
``parameters.retry_after`` (whole seconds until it would fit) and counted in
``rate_limited``; it uses up no budget. ``tolerance`` (seconds, default 0 = exact)
shortens every window to absorb network jitter, like Telegram's tolerance of short
bursts.
"""

from __future__ import annotations

import math
from collections import deque

from tests.fakes.telegram.wire import ApiError, ChatId, is_private


class Window:
    """At most ``capacity`` events per sliding window of ``seconds``, per key."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self._stamps: dict[object, deque[float]] = {}

    def wait_needed(self, key: object, now: float, tolerance: float) -> float:
        """Seconds until one more event for ``key`` fits; 0.0 when it fits now."""
        span = max(self.seconds - tolerance, 0.0)
        stamps = self._stamps.get(key)
        if not stamps:
            return 0.0
        while stamps and stamps[0] <= now - span:
            stamps.popleft()
        if len(stamps) < self.capacity:
            return 0.0
        return stamps[len(stamps) - self.capacity] + span - now

    def record(self, key: object, now: float) -> None:
        self._stamps.setdefault(key, deque()).append(now)


class FloodLimits:
    """The three windows of the module docstring, with ``enforce`` to switch them off."""

    def __init__(
        self,
        *,
        enforce: bool,
        global_per_second: int,
        per_chat_per_second: float,
        per_group_per_minute: int,
        tolerance: float,
    ) -> None:
        self.enforce = enforce
        self.tolerance = tolerance
        self.rate_limited = 0
        self._overall = Window(global_per_second, 1.0)
        self._per_chat = Window(1, 1.0 / per_chat_per_second)
        self._per_group = Window(per_group_per_minute, 60.0)

    def admit(self, chat_id: ChatId, now: float) -> None:
        """Count one message for ``chat_id`` at ``now``, or raise the 429 Telegram gives."""
        if not self.enforce:
            return
        chat_window = self._per_chat if is_private(chat_id) else self._per_group
        wait = max(
            self._overall.wait_needed(None, now, self.tolerance),
            chat_window.wait_needed(chat_id, now, self.tolerance),
        )
        if wait > 0:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        self._overall.record(None, now)
        chat_window.record(chat_id, now)
