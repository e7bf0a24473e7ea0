"""Events appended together (``audit.appending``): one head lock, the chain unchanged.

A batch is what a use case such as logging an incident records; the chain it leaves
must verify exactly as one written event by event, on both engines.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from incidents.audit import AuditEvent, AuditHead, appending, record, system_actor, verify
from tests.conftest import T0


def _event(s: Session, i: int) -> None:
    record(
        s,
        actor=system_actor("cli"),
        kind="test.event",
        subject_type="test",
        subject_id=i,
        data={"i": i},
        now=T0 + timedelta(seconds=i),
    )


def _chain(factory: sessionmaker[Session]) -> list[tuple[int, int | None]]:
    with factory() as s:
        return [
            (e.seq, e.subject_id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_a_batch_continues_the_chain_in_order_and_verifies(
    any_factory: sessionmaker[Session],
) -> None:
    with any_factory() as s, s.begin():
        _event(s, 0)  # one by one before
    with any_factory() as s, s.begin():
        with appending(s):
            for i in range(1, 5):
                _event(s, i)
            with appending(s):  # a nested block joins the outer one
                _event(s, 5)
        _event(s, 6)  # one by one after, in the same transaction
    # Stored in the order recorded: seq and id rise together.
    assert _chain(any_factory) == [(n + 1, n) for n in range(7)]
    with any_factory() as s:
        result = verify(s)
        head = s.get(AuditHead, 1)
    assert result.ok, result.describe()
    assert result.count == 7
    assert head is not None and head.seq == 7


def test_a_batch_is_written_before_a_commit_inside_it(
    any_factory: sessionmaker[Session],
) -> None:
    with any_factory() as s, appending(s):
        _event(s, 1)
        s.commit()
        _event(s, 2)  # a new transaction: the head is locked again
        s.commit()
    with any_factory() as s:
        result = verify(s)
    assert result.ok and result.count == 2, result.describe()


def test_a_rolled_back_batch_leaves_nothing(any_factory: sessionmaker[Session]) -> None:
    with any_factory() as s, s.begin():
        _event(s, 1)
    with pytest.raises(RuntimeError), any_factory() as s, s.begin(), appending(s):
        _event(s, 2)
        raise RuntimeError("the use case failed")
    with any_factory() as s:
        count = s.scalar(select(func.count()).select_from(AuditEvent))
        result = verify(s)
    assert count == 1
    assert result.ok and result.count == 1, result.describe()
