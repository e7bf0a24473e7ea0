"""The flood limiter keeps Telegram's limits, on a virtual clock: no test here sleeps.

Each test runs the limiter on an event loop whose time is virtual (``aiotools``'
``VirtualClock``: a sleep returns at once and moves the clock on), and the limiter reads
the same clock. A simulated Bot API call takes ``up`` seconds to reach Telegram and
``down`` seconds for the answer to come back; on arrival it is judged by
``tests.fakes.telegram.limits.FloodLimits`` — the model of Telegram's limits the fake
Bot API server answers 429 by — so a message over a limit fails the test there and
then. The limits (``escalation.telegram.limiter``): 30 a second overall, one a second per
chat, and 20 a minute per group (which also keeps the per-chat spacing).

Telegram's own ``RetryAfter`` is not the limiter's business: the channel turns it into a
deferral of the row (``test_delivery.py`` follows one through the outbox); the last test
here checks that the slot is given back so other chats go on.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from aiotools import VirtualClock

from escalation.channels.base import ChannelError, OutgoingMessage
from escalation.channels.telegram import TelegramChannel
from escalation.telegram.limiter import ChatKey, FloodLimiter, LimiterBusy
from incidents.clock import FrozenClock
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.limits import FloodLimits

T = TypeVar("T")
# Virtual seconds after which a test counts as stuck (a limiter waiting for ever).
HORIZON = 3600.0
# Floating-point slack when comparing virtual instants.
EPS = 1e-6
# Latencies are multiples of 1/256 s, so virtual instants add up exactly and every wait
# is longer than the loop's clock resolution (1 ms under VirtualClock). (A wait of 1e-16 s
# from inexact sums, or one under the resolution, is never passed by the virtual clock;
# the real clock always moves on.)
TICK = 1 / 256
# Reads of the clock after which virtual time counts as standing still (the limiter
# spinning without waiting): the test fails rather than hangs.
SPIN = 2_000_000


@dataclass(frozen=True)
class Call:
    """One simulated Bot API call: when its slot was taken, it reached Telegram, and
    its answer came back (virtual seconds)."""

    chat: ChatKey
    taken: float
    arrived: float
    answered: float


class Telegram:
    """The simulated Bot API: ``send`` takes a slot, travels, is judged, is answered."""

    def __init__(self, limiter: FloodLimiter, clock: Callable[[], float]) -> None:
        self.limiter = limiter
        self.clock = clock
        # Telegram's limits exactly (no tolerance), as the fake server enforces them.
        self.limits = FloodLimits(
            enforce=True,
            global_per_second=30,
            per_chat_per_second=1.0,
            per_group_per_minute=20,
            tolerance=0.0,
        )
        self.calls: list[Call] = []

    async def send(
        self,
        chat: ChatKey,
        *,
        up: float = 0.0,
        down: float = 0.0,
        max_wait: float | None = None,
        fail: bool = False,
    ) -> Call:
        async with self.limiter.slot(chat, max_wait):
            taken = self.clock()
            await asyncio.sleep(up)
            arrived = self.clock()
            if fail:
                raise ConnectionError("the request was lost")
            self.limits.admit(chat, arrived)  # a 429 (ApiError) fails the test here
            await asyncio.sleep(down)
            call = Call(chat, taken, arrived, self.clock())
        self.calls.append(call)
        return call

    def to(self, chat: ChatKey) -> list[Call]:
        return sorted((c for c in self.calls if c.chat == chat), key=lambda c: c.taken)


def on_virtual_time(test: Callable[[Telegram], Awaitable[T]], **limits: float) -> T:
    """Run ``test`` with a fresh limiter and simulated Telegram on a virtual clock."""
    virtual = VirtualClock()
    reads = 0

    def clock() -> float:
        nonlocal reads
        reads += 1
        if reads > SPIN:
            raise RuntimeError("virtual time stands still: the limiter spins")
        return virtual.virtual_time()

    async def main() -> T:
        with virtual.patch_loop():
            limiter = FloodLimiter(clock=clock, **limits)  # type: ignore[arg-type]
            return await asyncio.wait_for(test(Telegram(limiter, clock)), timeout=HORIZON)

    return asyncio.run(main())


def most_in_any_window(instants: list[float], seconds: float) -> int:
    """The most ``instants`` that fall in one sliding window of ``seconds``."""
    ordered = sorted(instants)
    return max(
        (sum(1 for t in ordered if start <= t < start + seconds - EPS) for start in ordered),
        default=0,
    )


# -- one message a second per chat -----------------------------------------------------


def test_one_chat_gets_a_message_a_second_counted_from_the_previous_answer() -> None:
    async def test(telegram: Telegram) -> list[Call]:
        await asyncio.gather(*(telegram.send(1001, up=0.125, down=0.25) for _ in range(5)))
        return telegram.to(1001)

    calls = on_virtual_time(test)
    assert len(calls) == 5
    for previous, this in itertools.pairwise(calls):
        # Telegram received them at least a second apart, whatever the latency …
        assert this.arrived - previous.arrived >= 1.0 - EPS
        # … and the limiter waited no longer than that: a second after the answer.
        assert this.taken == pytest.approx(previous.answered + 1.0)


def test_a_second_message_to_a_chat_waits_while_the_first_is_in_flight() -> None:
    async def test(telegram: Telegram) -> tuple[Call, Call]:
        first = asyncio.create_task(telegram.send(1001, up=0.5, down=20.0))
        await asyncio.sleep(TICK)
        second = await telegram.send(1001)
        return await first, second

    first, second = on_virtual_time(test)
    assert second.taken == pytest.approx(first.answered + 1.0)


# -- 30 messages a second overall ------------------------------------------------------


@pytest.mark.parametrize(("up", "down"), [(0.0, 0.0), (0.0, 0.375), (0.375, 0.0), (0.0625, 0.0625)])
def test_no_more_than_30_messages_reach_telegram_in_any_second(up: float, down: float) -> None:
    async def test(telegram: Telegram) -> list[Call]:
        await asyncio.gather(*(telegram.send(2000 + n, up=up, down=down) for n in range(95)))
        return telegram.calls

    calls = on_virtual_time(test)
    assert len(calls) == 95
    assert most_in_any_window([c.arrived for c in calls], 1.0) == 30
    # Full windows, no slack: each batch of 30 goes a second after the previous answers.
    batches = sorted({round(c.taken, 6) for c in calls})
    assert batches == pytest.approx([n * (1.0 + up + down) for n in range(4)])


def test_random_latencies_never_break_a_limit() -> None:
    rng = random.Random(11)

    async def test(telegram: Telegram) -> list[Call]:
        sends = [
            telegram.send(
                rng.choice([3001, 3002, 3003, -4001, *range(5000, 5060)]),
                up=rng.randrange(100) * TICK,
                down=rng.randrange(100) * TICK,
            )
            for _ in range(200)
        ]
        await asyncio.gather(*sends)
        return telegram.calls

    calls = on_virtual_time(test)  # FloodLimits raised on any message over a limit
    assert len(calls) == 200
    assert most_in_any_window([c.arrived for c in calls], 1.0) <= 30
    group = [c.arrived for c in calls if c.chat == -4001]
    assert group and most_in_any_window(group, 60.0) <= 20


# -- 20 messages a minute per group ----------------------------------------------------


def test_a_group_gets_20_messages_a_minute_a_second_apart() -> None:
    async def test(telegram: Telegram) -> list[Call]:
        await asyncio.gather(*(telegram.send(-4001, down=0.125) for _ in range(22)))
        return telegram.to(-4001)

    calls = on_virtual_time(test)
    taken = [c.taken for c in calls]
    # The first 20 a second after each answer; the 21st once the first has left the
    # minute (counted from its answer), the 22nd once the second has.
    assert taken[:20] == pytest.approx([n * 1.125 for n in range(20)])
    assert taken[20] == pytest.approx(calls[0].answered + 60.0)
    assert taken[21] == pytest.approx(calls[1].answered + 60.0)
    assert most_in_any_window([c.arrived for c in calls], 60.0) == 20


def test_the_21st_group_message_in_a_minute_is_refused_at_once_rather_than_waited_for() -> None:
    async def test(telegram: Telegram) -> tuple[float, float, LimiterBusy]:
        for _ in range(20):
            await telegram.send(-4001)
        asked = telegram.clock()
        with pytest.raises(LimiterBusy) as busy:
            await telegram.send(-4001, max_wait=2.0)
        return asked, telegram.clock(), busy.value

    asked, refused, busy = on_virtual_time(test)
    assert refused == asked  # not a moment spent waiting
    assert busy.chat_id == -4001 and busy.seconds == pytest.approx(60.0 - 19.0)


# -- one chat never holds up the others ------------------------------------------------


def test_a_chat_with_a_message_in_flight_does_not_hold_up_other_chats() -> None:
    async def test(telegram: Telegram) -> tuple[Call, Call, list[Call]]:
        slow = asyncio.create_task(telegram.send(1001, down=30.0))
        await asyncio.sleep(TICK)
        # The same chat again, waiting behind its first message …
        again = asyncio.create_task(telegram.send(1001))
        await asyncio.sleep(TICK)
        # … while other chats are served at once.
        others = await asyncio.gather(*(telegram.send(2000 + n, down=0.125) for n in range(10)))
        return await slow, await again, list(others)

    slow, again, others = on_virtual_time(test)
    assert all(c.taken == pytest.approx(2 * TICK) for c in others)
    assert max(c.answered for c in others) < slow.answered
    assert again.taken == pytest.approx(slow.answered + 1.0)


def test_a_chat_waiting_for_its_next_second_does_not_hold_up_other_chats() -> None:
    async def test(telegram: Telegram) -> tuple[Call, list[Call]]:
        await telegram.send(1001)
        waiting = asyncio.create_task(telegram.send(1001))
        await asyncio.sleep(0.125)
        others = await asyncio.gather(*(telegram.send(2000 + n) for n in range(5)))
        return await waiting, list(others)

    waiting, others = on_virtual_time(test)
    assert waiting.taken == pytest.approx(1.0)
    assert all(c.taken == pytest.approx(0.125) for c in others)


def test_a_send_that_waits_longer_than_max_wait_is_refused_and_the_chat_skipped() -> None:
    async def test(telegram: Telegram) -> tuple[LimiterBusy, Call]:
        for _ in range(30):  # the overall window full for the next second
            await telegram.send(1001 if not telegram.calls else 2000 + len(telegram.calls))
        with pytest.raises(LimiterBusy) as busy:
            await telegram.send(1001, max_wait=0.5)
        # Another chat is not refused: it waits out the overall second like any other.
        other = await telegram.send(3001, max_wait=2.0)
        return busy.value, other

    busy, other = on_virtual_time(test)
    assert busy.seconds == pytest.approx(1.0)
    assert other.taken == pytest.approx(1.0)


def test_a_send_behind_a_message_in_flight_is_refused_after_max_wait() -> None:
    async def test(telegram: Telegram) -> float:
        in_flight = asyncio.create_task(telegram.send(1001, down=30.0))
        await asyncio.sleep(TICK)
        asked = telegram.clock()
        with pytest.raises(LimiterBusy):
            await telegram.send(1001, max_wait=2.0)
        waited = telegram.clock() - asked
        await in_flight
        return waited

    assert on_virtual_time(test) <= 2.0


def test_a_failed_call_gives_its_slot_back() -> None:
    async def test(telegram: Telegram) -> tuple[float, Call, Call]:
        with pytest.raises(ConnectionError):
            await telegram.send(1001, up=0.5, fail=True)
        failed_at = telegram.clock()
        other, again = await asyncio.gather(telegram.send(2001), telegram.send(1001))
        return failed_at, other, again

    failed_at, other, again = on_virtual_time(test)
    assert other.taken == pytest.approx(failed_at)
    assert again.taken == pytest.approx(failed_at + 1.0)


# -- the burst the outbox sends --------------------------------------------------------


def test_a_burst_of_300_to_100_chats_goes_at_the_pace_the_limits_allow() -> None:
    """The outbox sends one at a time, incident by incident: 3 rounds of 100 chats."""

    async def test(telegram: Telegram) -> tuple[list[Call], float]:
        for _ in range(3):
            for chat in range(10_000, 10_100):
                await telegram.send(chat, up=2 * TICK, down=2 * TICK)
        return telegram.calls, telegram.clock()

    calls, took = on_virtual_time(test)
    assert len(calls) == 300 and telegram_429s_were_none(calls)
    # 300 at 30 a second: ten windows, each waiting for the previous one's answers.
    assert 9.0 <= took <= 10.0 * 1.10, took


def telegram_429s_were_none(calls: list[Call]) -> bool:
    """FloodLimits raised on the first message over a limit; this re-counts the windows."""
    chats = {c.chat for c in calls}
    arrivals = {chat: sorted(c.arrived for c in calls if c.chat == chat) for chat in chats}
    return most_in_any_window([c.arrived for c in calls], 1.0) <= 30 and all(
        b - a >= 1.0 - EPS for times in arrivals.values() for a, b in itertools.pairwise(times)
    )


def test_free_in_tells_a_scheduler_when_a_chat_would_fit() -> None:
    async def test(telegram: Telegram) -> tuple[float, float, float]:
        await telegram.send(1001, down=0.25)
        limiter = telegram.limiter
        return limiter.free_in(1001), limiter.free_in(2002), limiter.free_in(-4001)

    busy, private, group = on_virtual_time(test)
    assert busy == pytest.approx(1.0) and (private, group) == (0.0, 0.0)


# -- Telegram's RetryAfter, through the real channel -----------------------------------


def test_a_429_from_telegram_defers_that_chat_by_retry_after_and_gives_the_slot_back(
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    channel = make_channel(None, clock)
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(ChannelError) as caught:
        channel.send(message(1001))
    assert not caught.value.permanent and caught.value.retry_after == 7.0
    # No slot is left taken by the refused call: another chat goes out at once.
    assert channel.limiter.free_in(2002) == 0.0
    channel.send(message(2002))
    assert [m.chat_id for m in fake.sent] == [2002] and fake.rate_limited == 0


def message(chat_id: int) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=1,
        incident_id=9,
        incident_number="FH-2026-0009",
        grade="major",
        category="malware",
        title="勒索软件",
        recipient_person_id=1,
        recipient_login="x",
        recipient_language="zh_CN",
        destination_address=str(chat_id),
        kind="step",
        text_zh="",
        text_en="",
        link_path="/incidents/9",
    )
