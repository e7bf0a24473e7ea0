"""A batch of sends goes at the pace the flood limits allow, on a virtual clock.

``escalation.telegram.batch.send_in_turn`` sends a batch's messages concurrently, one
task per chat, each taking its slot from the flood limiter; the outbox hands it one
batch after another. Here Telegram is the simulation of ``test_flood_limiter.py`` (a
call travels ``up`` seconds, is judged by the fake server's model of the limits — a
message over a limit fails the test there and then — and its answer travels ``down``
seconds back), and time is virtual: nothing sleeps, and the pace is a property of the
code, not of the machine.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest

from escalation.telegram.batch import Behind, send_in_turn
from escalation.telegram.limiter import ChatKey, LimiterBusy
from tests.telegram.test_flood_limiter import (
    EPS,
    TICK,
    Call,
    Telegram,
    most_in_any_window,
    on_virtual_time,
)

UP = DOWN = 2 * TICK
RTT = UP + DOWN


async def batch(
    telegram: Telegram,
    chats: list[ChatKey],
    *,
    max_wait: float = 2.0,
    fail: Callable[[ChatKey, int], bool] = lambda chat, n: False,
) -> dict[int, Call | BaseException]:
    """Send one message to each of ``chats`` (in order) as one batch; the answer of
    each, by position."""
    answers: dict[int, Call | BaseException] = {}
    sent = itertools.count()

    async def post(item: tuple[int, ChatKey]) -> Call:
        taken = telegram.clock()
        await asyncio.sleep(UP)
        arrived = telegram.clock()
        if fail(item[1], next(sent)):
            raise ConnectionError("the request was lost")
        telegram.limits.admit(item[1], arrived)  # a 429 (ApiError) fails the test here
        await asyncio.sleep(DOWN)
        call = Call(item[1], taken, arrived, telegram.clock())
        telegram.calls.append(call)
        return call

    def done(item: tuple[int, ChatKey], answer: Call | BaseException) -> None:
        assert item[0] not in answers, "one answer per message"
        answers[item[0]] = answer

    await send_in_turn(
        telegram.limiter,
        list(enumerate(chats)),
        chat_of=lambda item: item[1],
        post=post,
        done=done,
        max_wait=max_wait,
    )
    assert sorted(answers) == list(range(len(chats)))
    return answers


def test_a_burst_of_300_to_100_chats_in_batches_of_30_is_paced_by_the_limits_alone() -> None:
    """As the outbox sends it: incident by incident (100 chats each), 30 rows a batch,
    with a tenth of a second of writing back between two batches."""
    rows = [chat for _ in range(3) for chat in range(10_000, 10_100)]

    async def test(telegram: Telegram) -> list[Call]:
        for start in range(0, len(rows), 30):
            answers = await batch(telegram, rows[start : start + 30])
            assert all(isinstance(a, Call) for a in answers.values())
            await asyncio.sleep(0.1)  # the write-back and the next claim
        return telegram.calls

    calls = on_virtual_time(test)
    assert len(calls) == 300
    arrivals = sorted(c.arrived for c in calls)
    assert most_in_any_window(arrivals, 1.0) == 30
    # Ten full windows, each opening a second after the previous one's answers: the
    # sender's own pauses (the write-backs) fall inside the waits and cost nothing.
    assert arrivals[-1] == pytest.approx(9 * (1.0 + RTT) + UP)


def test_a_chat_gets_its_messages_of_a_batch_in_order_a_second_apart() -> None:
    async def test(telegram: Telegram) -> tuple[dict[int, Call | BaseException], list[Call]]:
        answers = await batch(telegram, [1001, 2001, 1001, 1001], max_wait=5.0)
        return answers, telegram.to(1001)

    answers, to_1001 = on_virtual_time(test)
    order = [answers[i] for i in (0, 2, 3)]
    assert order == to_1001  # in the batch's order
    for previous, this in itertools.pairwise(to_1001):
        assert this.arrived - previous.arrived >= 1.0 - EPS
        assert this.taken == pytest.approx(previous.answered + 1.0)
    assert isinstance(answers[1], Call) and answers[1].taken == 0.0  # not behind 1001


def test_a_chat_that_would_wait_longer_than_max_wait_is_deferred_and_the_rest_go_on() -> None:
    async def test(telegram: Telegram) -> dict[int, Call | BaseException]:
        return await batch(telegram, [1001, 1001, 1001, 1001, 2001], max_wait=2.0)

    answers = on_virtual_time(test)
    first, second = answers[0], answers[1]
    assert isinstance(first, Call) and isinstance(second, Call)
    assert second.taken == pytest.approx(first.answered + 1.0)
    # The third would go at about 2 + 2·RTT s, past max_wait: it is deferred, with the
    # wait the limiter knows, and the fourth is not tried (it would overtake the third);
    # the other chat is not held up.
    third, fourth = answers[2], answers[3]
    assert isinstance(third, LimiterBusy) and third.seconds == pytest.approx(1.0)
    assert isinstance(fourth, Behind)
    assert isinstance(answers[4], Call) and answers[4].taken == 0.0


def test_the_overall_window_is_waited_for_not_refused_by_max_wait() -> None:
    async def test(telegram: Telegram) -> dict[int, Call | BaseException]:
        return await batch(telegram, list(range(5000, 5095)), max_wait=0.5)

    answers = on_virtual_time(test)
    calls = [a for a in answers.values() if isinstance(a, Call)]
    assert len(calls) == 95  # the last 35 waited a second and more, none refused
    assert most_in_any_window([c.arrived for c in calls], 1.0) == 30
    assert max(c.taken for c in calls) == pytest.approx(3 * (1.0 + RTT))


def test_after_a_failure_the_chats_later_messages_wait_and_other_chats_go_on() -> None:
    async def test(telegram: Telegram) -> dict[int, Call | BaseException]:
        return await batch(
            telegram, [1001, 1001, 2001, 2001], max_wait=5.0, fail=lambda chat, n: chat == 1001
        )

    answers = on_virtual_time(test)
    assert isinstance(answers[0], ConnectionError)
    assert isinstance(answers[1], Behind)  # not tried: it must not overtake the first
    assert isinstance(answers[2], Call) and isinstance(answers[3], Call)
