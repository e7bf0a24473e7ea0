"""Waiting for real processes, threads and servers without timing the machine.

Most tests run on an injected clock and never wait. The few that drive real work on the
wall clock (worker processes, a polling bot, the fake Bot API server, spawned loggers)
must wait for it, and a fixed deadline there times the machine: a busy CI box misses it
and the test fails for no fault of the code. So they wait for as long as the work keeps
moving and fail only when it has stopped moving for ``STALL_SECONDS``:

- :func:`wait_for` polls a condition; with ``progress`` (any comparable figure: rows
  sent, messages received, workers started) it fails only once that figure has stayed
  the same for ``stall`` seconds. Without it the condition's own value is the figure, so
  waiting for a ready handshake ("started" in a log) gets ``stall`` seconds in all.
- :class:`Progress` is the same check for a loop the test drives itself.

``STALL_SECONDS`` is the one start-up and progress allowance of the suite: 60 s, or
``FENGHUO_TEST_STALL_SECONDS``. It bounds how long a *broken* test takes to fail; it is
never what a passing test proves.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05  # between checks of a condition


def _stall_seconds() -> float:
    raw = os.environ.get("FENGHUO_TEST_STALL_SECONDS", "60")
    try:
        seconds = float(raw)
    except ValueError:
        raise RuntimeError(
            f"FENGHUO_TEST_STALL_SECONDS: not a number of seconds: {raw!r}"
        ) from None
    if not seconds > 0:
        raise RuntimeError(f"FENGHUO_TEST_STALL_SECONDS: must be above 0, not {raw!r}")
    return seconds


STALL_SECONDS = _stall_seconds()


class Stalled(AssertionError):
    """The awaited work made no progress for the allowed time."""


class Progress:
    """Fails :meth:`check` once the figure it is given has not changed for ``stall`` s."""

    def __init__(
        self,
        what: str,
        *,
        stall: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.stall = STALL_SECONDS if stall is None else stall
        self._clock = clock
        self._last: object = _UNSEEN
        self._since = clock()

    def check(self, figure: object) -> None:
        """Note ``figure``; raise :class:`Stalled` if it has been the same for too long."""
        now = self._clock()
        if figure != self._last:
            self._last, self._since = figure, now
        elif now - self._since > self.stall:
            raise Stalled(
                f"no progress for {self.stall:g} s waiting for {self.what} (still at {figure!r})"
            )


_UNSEEN = object()


def wait_for(
    condition: Callable[[], T],
    what: str,
    *,
    progress: Callable[[], object] | None = None,
    stall: float | None = None,
) -> T:
    """Return ``condition()``'s first truthy value, re-checked every ``POLL_SECONDS``.

    Raises :class:`Stalled` (an ``AssertionError`` naming ``what``) when ``progress()``
    — or, without it, the condition's value — has not changed for ``stall`` seconds
    (default ``STALL_SECONDS``).
    """
    watch = Progress(what, stall=stall)
    while True:
        result = condition()
        if result:
            return result
        watch.check(progress() if progress is not None else result)
        threading.Event().wait(POLL_SECONDS)
