"""The suite's one way of waiting for real work: it fails only when the work stops moving."""

from __future__ import annotations

import pytest

from tests.waiting import Progress, Stalled, wait_for


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_work_that_keeps_moving_is_never_timed_out() -> None:
    clock = ManualClock()
    watch = Progress("rows to be sent", stall=5.0, clock=clock)
    for sent in range(100):  # 100 × 4 s: far past any fixed deadline of 5 s
        clock.now += 4.0
        watch.check(sent)


def test_work_that_stops_moving_fails_after_the_stall_allowance_naming_what() -> None:
    clock = ManualClock()
    watch = Progress("rows to be sent", stall=5.0, clock=clock)
    watch.check(3)
    clock.now += 5.0
    watch.check(3)  # exactly the allowance: still waiting
    clock.now += 0.1
    with pytest.raises(Stalled, match=r"no progress for 5 s waiting for rows to be sent"):
        watch.check(3)


def test_wait_for_returns_the_conditions_first_truthy_value() -> None:
    answers = iter([[], [], ["sent"]])
    assert wait_for(lambda: next(answers), "a message") == ["sent"]


def test_wait_for_without_progress_gives_up_on_a_condition_that_never_holds() -> None:
    with pytest.raises(Stalled, match="the impossible"):
        wait_for(lambda: False, "the impossible", stall=0.1)
