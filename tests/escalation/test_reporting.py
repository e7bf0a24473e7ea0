"""未按要求上报: the one rule, in Python and in SQL, obligation by obligation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import Obligation
from escalation.reporting import RANK, counts, obligation_state, state_rank
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import open_

H = timedelta(hours=1)

CASES = [
    pytest.param("late", T0 - H, "failed", id="filed late"),
    pytest.param("missed", T0 - H, "failed", id="missed"),
    pytest.param("pending", T0 - H, "failed", id="pending past its deadline, not yet swept"),
    pytest.param("pending", T0, "failed", id="pending at its deadline: the sweep's boundary"),
    pytest.param("pending", T0 + H, "due", id="pending within its deadline"),
    pytest.param("pending", None, "due", id="pending before its window opens"),
    pytest.param("met", T0 - H, "done", id="met"),
    pytest.param("waived", None, "done", id="waived"),
]


@pytest.mark.parametrize(("status", "due_at", "state"), CASES)
def test_each_obligation_state(status: str, due_at: object, state: str) -> None:
    assert obligation_state(status, due_at, T0) == state  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "due_at", "state"), CASES)
def test_the_sql_rank_is_the_same_rule(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    status: str,
    due_at: object,
    state: str,
) -> None:
    incident_id = open_(factory, org, "major")
    with factory() as s, s.begin():
        ob = s.scalars(select(Obligation).where(Obligation.incident_id == incident_id)).first()
        assert ob is not None
        ob.status, ob.due_at = status, due_at  # type: ignore[assignment]
        s.flush()
        rank = s.scalar(select(state_rank(T0)).where(Obligation.id == ob.id))
    assert rank == RANK[state]  # type: ignore[index]


def test_counts_give_every_incident_one_answer(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    open_(factory, org, "general", at=T0 + timedelta(minutes=1))
    with factory() as s:
        # At T0 + 2 h the major incident's internal report (1 h) is overdue; the general
        # one's (24 h) is still due.
        assert counts(s, T0 + 2 * H) == {"yes": 0, "not_yet_known": 1, "no": 1}
