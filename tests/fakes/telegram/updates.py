"""The queue of updates for the bot, and getUpdates long polling over it.

getUpdates long-polls (``timeout``), answers as soon as an update is queued, forgets
updates below ``offset`` and keeps ``allowed_updates`` until changed (updates of other
types are forgotten, as by Telegram). A new call terminates the one still waiting,
which gets 409 Conflict, as Telegram does when two pollers share a token; a waiting
call whose client hung up is forgotten instead, so a poller that cancels its poll and
confirms its offset never meets a Conflict. Callers hold the fake's lock.
"""

from __future__ import annotations

import copy
import select
import socket
import threading
import time

from tests.fakes.telegram.server import Listener
from tests.fakes.telegram.wire import CONFLICT_POLL, JSON, ApiError, DroppedError, int_param

_HANGUP_CHECK = 0.05  # seconds between checks that a long-polling client is still there


def _client_gone(connection: socket.socket | None) -> bool:
    """True once the client has closed ``connection`` (readable, yet nothing to read)."""
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class UpdateQueue:
    """Updates not yet confirmed by an offset (nor delivered to a webhook), in order."""

    def __init__(self, cond: threading.Condition) -> None:
        self._cond = cond
        self._updates: list[JSON] = []
        self._next_update_id = 100_000
        self.allowed_updates: list[str] = []
        self._poll_ticket = 0
        self._active_poll: int | None = None

    def __len__(self) -> int:
        return len(self._updates)

    def pending(self) -> list[JSON]:
        return list(self._updates)

    def enqueue(self, kind: str, payload: JSON) -> JSON:
        """Queue an update of ``kind`` (``message``, ``callback_query``…); return it."""
        self._next_update_id += 1
        update = {"update_id": self._next_update_id, kind: payload}
        self._updates.append(update)
        self._cond.notify_all()
        return copy.deepcopy(update)

    def clear(self) -> None:
        """Drop every pending update (``drop_pending_updates``)."""
        self._updates.clear()

    def confirm(self, update_id: int) -> None:
        """Forget one update (a webhook took it)."""
        self._updates = [u for u in self._updates if u["update_id"] != update_id]

    def deliverable(self) -> list[JSON]:
        """Queued updates of the allowed types; the others are forgotten, as by Telegram."""
        if self.allowed_updates:
            allowed = set(self.allowed_updates)
            self._updates = [u for u in self._updates if self._kind(u) in allowed]
        return copy.deepcopy(self._updates)

    @staticmethod
    def _kind(update: JSON) -> str:
        return next(k for k in update if k != "update_id")

    def set_allowed_updates(self, params: JSON) -> None:
        allowed = params.get("allowed_updates")
        if allowed is None:
            return  # Telegram keeps the previous setting
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise ApiError(400, "Bad Request: can't parse allowed updates")
        self.allowed_updates = list(allowed)

    def poll(
        self, params: JSON, *, listener: Listener, connection: socket.socket | None
    ) -> list[JSON]:
        """getUpdates: wait up to ``timeout`` seconds for updates; see the module.

        Raises ``DroppedError`` when the server goes down or the client hangs up.
        """
        offset = int_param(params, "offset", 0)
        limit = min(max(int_param(params, "limit", 100), 1), 100)
        timeout = params.get("timeout", 0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
            raise ApiError(400, "Bad Request: invalid timeout specified")
        self.set_allowed_updates(params)
        # Offsets confirm updates: everything before them is forgotten.
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_ticket += 1
        ticket = self._active_poll = self._poll_ticket
        generation = listener.generation
        self._cond.notify_all()  # a waiting older call is now terminated
        deadline = time.monotonic() + float(timeout)
        try:
            while True:
                if listener.generation != generation or listener.stopping:
                    raise DroppedError
                if _client_gone(connection):
                    # Forget a poll whose client hung up (a cancelled poller) before
                    # anything else, so it is never "terminated by" its successor.
                    raise DroppedError
                if self._active_poll != ticket:
                    raise ApiError(409, CONFLICT_POLL)
                ready = self.deliverable()
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready[:limit]
                self._cond.wait(min(remaining, _HANGUP_CHECK))
        finally:
            if self._active_poll == ticket:
                self._active_poll = None
