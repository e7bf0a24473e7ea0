"""Sending a batch of messages at once within the flood limits: one task per chat.

A batch's messages to one chat go in their order, one after another (a chat reads them
in the order sent); different chats' go concurrently, each message taking its slot from
the :class:`~escalation.telegram.limiter.FloodLimiter`. The batch therefore goes at the
pace the limits allow, and the sender's own cost per message (rendering, HTTP,
Telegram's answer) overlaps the limiter's waits instead of adding to them.

A chat whose own limits (its one-a-second spacing, a group's twenty a minute) would
hold a message longer than ``max_wait`` seconds from the batch's start is deferred:
that message and the chat's later ones end with :class:`LimiterBusy`, and the outbox
tries them again after the wait instead of holding the batch. The overall window
(thirty a second) is waited for: it opens within a second of the previous answers, and
the channel sizes a batch to about one window.

After a chat's message fails or is deferred, the chat's later messages in the batch
end unsent (:class:`Behind`), so that none overtakes it; the outbox gives them back
to the queue without counting an attempt.

Runs on the limiter's event loop; the clock is the limiter's (virtual in the tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from escalation.telegram.limiter import ChatKey, FloodLimiter, LimiterBusy

T = TypeVar("T")
R = TypeVar("R")


class Behind(Exception):
    """Not sent: an earlier message of the same chat in this batch was not sent."""

    def __init__(self, chat_id: ChatKey) -> None:
        super().__init__(f"chat {chat_id}: behind an earlier message that was not sent")
        self.chat_id = chat_id


async def send_in_turn(
    limiter: FloodLimiter,
    items: Sequence[T],
    *,
    chat_of: Callable[[T], ChatKey],
    post: Callable[[T], Awaitable[R]],
    done: Callable[[T, R | BaseException], None],
    max_wait: float,
) -> None:
    """Post every item (see the module docstring); ``done(item, result or error)`` is
    called once per item as it is answered, deferred or skipped."""
    chats: dict[ChatKey, list[T]] = {}
    for item in items:
        chats.setdefault(chat_of(item), []).append(item)
    started = limiter.clock()

    async def one_chat(chat: ChatKey, queue: list[T]) -> None:
        for k, item in enumerate(queue):
            left = max_wait - (limiter.clock() - started)
            wait = limiter.chat_wait(chat)
            try:
                if wait is not None and wait > left:
                    raise LimiterBusy(chat, wait)
                # The chat's own wait fits; the overall window is waited for. (A message
                # still in flight to the chat, from another sender, is waited for within
                # what is left of max_wait.)
                stamp = await limiter.acquire(chat, None if wait is not None else max(left, 0.0))
            except LimiterBusy as busy:
                done(item, busy)
                for rest in queue[k + 1 :]:
                    done(rest, Behind(chat))
                return
            try:
                result = await post(item)
            except asyncio.CancelledError:
                limiter.release(stamp)
                raise
            except Exception as exc:  # the caller maps it; the chat's rest waits
                limiter.release(stamp)
                done(item, exc)
                for rest in queue[k + 1 :]:
                    done(rest, Behind(chat))
                return
            limiter.release(stamp)
            done(item, result)

    await asyncio.gather(*(one_chat(chat, queue) for chat, queue in chats.items()))
