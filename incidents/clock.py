"""Time as a parameter (STYLE.md 8).

Code below the faces never reads the wall clock: use cases take ``now``, long-running
loops take a :class:`Clock`. The faces build a :class:`SystemClock`; tests build a
:class:`FrozenClock` and move it by hand.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC. Only the process entry points construct one."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time(), tz=UTC)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)
