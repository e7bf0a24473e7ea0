"""Firing in sets: a sweep's statements do not grow with the timers it fires (issue 11).

The batch's incidents, chains, clocks and obligations, the organisation its targets name
and its recipients' destinations are read once per batch; the timers, notifications and
audit events are written with one statement each. Counted on both engines with a
``before_cursor_execute`` listener, as tests/api/test_statement_budget.py counts a create.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import Notification
from escalation.sweep import sweep
from incidents.audit import verify
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, open_
from tests.statements import statements


def sweep_counted(factory: sessionmaker[Session], incidents: int, org: dict[str, Person]) -> int:
    """Open ``incidents`` incidents, then count the statements of the sweep that fires
    each one's 1 h page."""
    for i in range(incidents):
        open_(factory, org, "general", at=T0 + timedelta(seconds=i))
    engine = factory.kw["bind"]
    with statements(engine) as seen:
        result = sweep(factory, now=T0 + timedelta(minutes=61), policy=DEFAULT_POLICY, batch=500)
    assert result.fired == incidents
    return len(seen)


def test_the_statements_of_a_sweep_do_not_grow_with_its_timers(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    few = sweep_counted(any_factory, 2, any_org)
    # Eight more incidents, opened half an hour on: their 1 h pages fall due together
    # (the first two's next timers, at 2 h, are not due yet).
    for i in range(8):
        open_(any_factory, any_org, "general", at=T0 + timedelta(minutes=30, seconds=i))
    with statements(any_factory.kw["bind"]) as seen:
        result = sweep(
            any_factory, now=T0 + timedelta(minutes=91), policy=DEFAULT_POLICY, batch=500
        )
    assert result.fired == 8
    assert result.notifications == 16
    assert len(seen) <= few, "\n".join(seen)
    with any_factory() as s:
        assert int(s.scalar(select(func.count()).select_from(Notification)) or 0) > 0
        assert verify(s).ok
