"""The drill policy: the policy in force with every clock divided, still a valid policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.policy import load_policy, parse_policy
from config.policy_drill import drill_toml


def test_a_drill_at_sixty_turns_the_major_chains_minutes_into_seconds() -> None:
    drill = parse_policy(drill_toml(load_policy(), 60))
    major = drill.grade("major")
    informs = [(s.after, s.notify, s.confirm_within) for s in major.chain if s.informs]
    assert informs == [
        (
            timedelta(0),
            ("deputy_director_netsec", "on_duty:duty_leader"),
            timedelta(seconds=15),
        ),
        (timedelta(seconds=10), ("director",), timedelta(seconds=15)),
        (
            timedelta(seconds=30),
            ("leading_group_member", "leading_group_office"),
            timedelta(seconds=30),
        ),
    ]
    internal = next(o for o in major.obligations if o.name == "internal")
    assert internal.window("local") == timedelta(minutes=1)
    assert internal.inform == ("leading_group_member",)
    assert major.handling_target == timedelta(minutes=12)


def test_delivery_tuning_keeps_workable_floors() -> None:
    drill = parse_policy(drill_toml(load_policy(), 3600))
    assert drill.outbox.lease >= timedelta(seconds=10)
    assert drill.outbox.backoff_base >= timedelta(seconds=1)
    assert drill.outbox.fallback_after >= timedelta(seconds=5)
    # No clock collapses to nothing: a step after zero stays at zero, others at ≥ 1 s.
    for grade in drill.grades.values():
        assert all(s.after >= timedelta(0) for s in grade.chain)
        assert grade.handling_target >= timedelta(seconds=1)


def test_a_scale_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        drill_toml(load_policy(), 0)
