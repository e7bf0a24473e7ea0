"""Every legal and every illegal status transition."""

from __future__ import annotations

import itertools

import pytest

from incidents import lifecycle
from incidents.errors import Conflict, ValidationError

LEGAL = {
    ("new", "acknowledged"),
    ("new", "handling"),
    ("acknowledged", "handling"),
    ("handling", "resolved"),
    ("resolved", "closed"),
    ("resolved", "reopened"),
    ("closed", "reopened"),
    ("reopened", "handling"),
}
ALL_PAIRS = list(itertools.product(lifecycle.STATUSES, lifecycle.STATUSES))


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_it_allows_the_legal_transition(current: str, target: str) -> None:
    lifecycle.check(current, target, reason="because")


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_it_refuses_the_illegal_transition_naming_what_is_allowed(
    current: str, target: str
) -> None:
    with pytest.raises(Conflict) as err:
        lifecycle.check(current, target, reason="because")
    assert err.value.field == "to"
    assert f"cannot go from {current} to {target}" in err.value.message


def test_reopening_needs_a_reason() -> None:
    with pytest.raises(ValidationError) as err:
        lifecycle.check("closed", "reopened", reason="  ")
    assert err.value.field == "reason"


def test_an_unknown_status_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as err:
        lifecycle.check("new", "archived")
    assert err.value.field == "to"
