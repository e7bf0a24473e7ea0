"""The dashboard's counts: what they count, on both engines, and that on SQLite they
are answered through indexes (the partial ones of migration 0015), never by reading a
whole table of incidents, chains or obligations."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.web import dashboard
from app.web.dashboard import breaches, grade_groups, seen_by, unacknowledged
from escalation.models import Obligation
from escalation.response import open_incident
from incidents.grading import GRADES
from incidents.inputs import IncidentInput
from incidents.org import Person, System
from incidents.permissions import Capabilities, capabilities
from tests.conftest import T0
from tests.escalation.support import (
    DEFAULT_POLICY,
    ack,
    actor_for,
    department_id,
    open_,
    regrade,
)
from tests.statements import executed

EVERYONE = Capabilities(
    person_id=0,
    roles=frozenset(),
    department_ids=frozenset(),
    is_admin=True,
    in_command_center=True,
)


def test_an_upgrade_waiting_for_acknowledgement_counts_as_unacknowledged(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    never = open_(any_factory, any_org, "general")
    upgraded = open_(any_factory, any_org, "general")
    settled = open_(any_factory, any_org, "general")
    assert ack(any_factory, any_org, upgraded, 5)
    assert ack(any_factory, any_org, settled, 5)
    regrade(any_factory, any_org, upgraded, 30, "major")  # a new chain, not acknowledged
    with any_factory() as s:
        count, rows = unacknowledged(s, EVERYONE)
    assert count == 2
    assert sorted(i.id for i in rows) == sorted([never, upgraded])


def test_acknowledging_the_new_chain_takes_it_off_the_list(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    upgraded = open_(any_factory, any_org, "general")
    assert ack(any_factory, any_org, upgraded, 5)
    regrade(any_factory, any_org, upgraded, 30, "major")
    assert ack(any_factory, any_org, upgraded, 31, who="netsec")
    with any_factory() as s:
        assert unacknowledged(s, EVERYONE) == (0, [])


def test_a_report_pending_past_its_deadline_is_a_breach_before_the_sweep_marks_it(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    open_(any_factory, any_org, "major")  # the internal report is due within the hour
    with any_factory() as s:
        assert breaches(s, EVERYONE, T0 + timedelta(minutes=59))[0] == 0
        count, rows = breaches(s, EVERYONE, T0 + timedelta(minutes=65))
    assert count == len(rows) >= 1
    assert all(b.deadline.due_at is not None for b in rows)


# A step of SQLite's plan that reads a whole table: "SCAN incident" without an index.
WHOLE_TABLE = re.compile(r"^SCAN (incident|escalation_chain|obligation)$")


def _plans(factory: sessionmaker[Session], call: Callable[[Session], Any]) -> list[str]:
    with factory() as s:
        with executed(s.get_bind()) as seen:
            call(s)
        conn = s.connection()
        return [
            str(row[-1])
            for statement, params in seen
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        ]


def test_the_dashboards_counts_read_no_whole_table(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    for n in range(6):
        incident = open_(factory, org, "general" if n % 2 else "major")
        if n % 3 == 0:
            assert ack(factory, org, incident, 5)
    at = T0 + timedelta(minutes=65)
    calls: list[tuple[tuple[str, ...], Callable[[Session], Any]]] = [
        ((), lambda s: grade_groups(s, EVERYONE)),
        (("ix_chain_waiting",), lambda s: unacknowledged(s, EVERYONE)),
        # With a handful of rows SQLite starts the breaches from the open incidents
        # (their status index); at 1,000,000 it reads the two partial indexes
        # (bench/dashboard_queries.py), which the statuses written as literals let it use.
        ((), lambda s: breaches(s, EVERYONE, at)),
    ]
    for indexes, call in calls:
        steps = _plans(factory, call)
        assert [step for step in steps if WHOLE_TABLE.match(step)] == []
        plan = "\n".join(steps)
        # The partial indexes serve only queries that write their statuses as literals.
        assert all(f"INDEX {name}" in plan for name in indexes), plan
    with factory() as s, executed(s.get_bind()) as seen:
        breaches(s, EVERYONE, at)
    first = next(statement for statement, _ in seen if statement.startswith("SELECT"))
    assert "obligation.status = 'missed'" in first
    assert "obligation.status = 'pending'" in first


def test_open_incidents_are_listed_by_their_nearest_unfulfilled_deadline_first(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    earlier = open_(any_factory, any_org, "major", detected_at=T0 - timedelta(minutes=30))
    later = open_(any_factory, any_org, "major")  # newer: first if deadlines were ignored
    with any_factory() as s:
        major = next(g for g in grade_groups(s, EVERYONE) if g.grade == "major")
    assert [i.id for i in major.incidents] == [earlier, later]


def test_a_department_head_gets_the_same_dashboard_from_one_read_of_what_they_see(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    """A viewer who does not see everything: the counts and lists taken from one read of
    the incidents they see (``seen_by``) are those the per-panel queries give."""
    rng = random.Random(11)
    with any_factory() as s:
        systems = {code: i for i, code in s.execute(select(System.id, System.code))}
    for n in range(40):
        data = IncidentInput.parse(
            {
                "title": f"事件 {n}",
                "category": "network_attack",
                "grade": rng.choice(GRADES),
                "detected_at": (T0 - timedelta(minutes=rng.randrange(60))).isoformat(),
                "responsible_department_id": department_id(
                    any_factory, rng.choice(("traffic", "finance", "legal"))
                ),
                "system_ids": [systems[rng.choice(("portal", "finance-system", "oa"))]]
                if rng.random() < 0.5
                else [],
            }
        )
        with any_factory() as s, s.begin():
            incident = open_incident(
                s, data=data, actor=actor_for(any_org["duty"]), now=T0, policy=DEFAULT_POLICY
            )
            incident_id, grade = incident.id, incident.grade
        if rng.random() < 0.4:
            assert ack(any_factory, any_org, incident_id, 5)
        if grade != "especially_major" and rng.random() < 0.2:
            regrade(any_factory, any_org, incident_id, 30, "especially_major")
    with any_factory() as s, s.begin():
        for ob in s.scalars(select(Obligation).where(Obligation.due_at.is_not(None))):
            if rng.random() < 0.3:  # a breach: its deadline passed
                s.execute(update(Obligation).where(Obligation.id == ob.id).values(status="missed"))
    at = T0 + timedelta(hours=3)
    with any_factory() as s:
        head = capabilities(s, any_org["trafhead"], at)
        seen = seen_by(s, head)
        assert seen is not None and seen_by(s, EVERYONE) is None
        assert 0 < len(seen.rows) < 40
        for few in (dashboard.FEW, 0):  # the grade lists both ways
            with patch.object(dashboard, "FEW", few):
                assert _shown(grade_groups(s, head, seen)) == _shown(grade_groups(s, head))
        count, rows = unacknowledged(s, head, seen)
        assert (count, [i.id for i in rows]) == _ids(unacknowledged(s, head))
        assert count > 0
        count, owed = breaches(s, head, at, seen)
        assert count > 0
        assert (count, [(b.incident.id, b.deadline.name) for b in owed]) == (
            _owed(breaches(s, head, at))
        )


def _shown(groups: list[Any]) -> list[tuple[str, int, list[int]]]:
    return [(g.grade, g.count, [i.id for i in g.incidents]) for g in groups]


def _ids(found: tuple[int, list[Any]]) -> tuple[int, list[int]]:
    return found[0], [i.id for i in found[1]]


def _owed(found: tuple[int, list[Any]]) -> tuple[int, list[tuple[int, str]]]:
    return found[0], [(b.incident.id, b.deadline.name) for b in found[1]]
