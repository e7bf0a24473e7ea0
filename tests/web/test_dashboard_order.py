"""The dashboard's grade lists walk the deadlines in due order (or, for a grade of few
incidents, order them by their own deadlines): the same incidents, in the
same order, as sorting every open incident by its nearest unfulfilled deadline."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.web import dashboard
from escalation.models import Obligation
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident
from incidents.org import Person
from incidents.permissions import Capabilities
from tests.conftest import T0
from tests.escalation.support import open_

EVERYONE = Capabilities(
    person_id=1,
    roles=frozenset({"duty_officer"}),
    department_ids=frozenset(),
    is_admin=True,
    in_command_center=True,
)


def _expected(s: Session, grade: str, limit: int) -> list[int]:
    """Every open incident of ``grade`` sorted by (nearest unfulfilled deadline, newest)."""
    nearest: dict[int, object] = {}
    for incident_id, due in s.execute(
        select(Obligation.incident_id, Obligation.due_at).where(
            Obligation.status.in_(("pending", "missed")), Obligation.due_at.is_not(None)
        )
    ):
        if incident_id not in nearest or due < nearest[incident_id]:  # type: ignore[operator]
            nearest[incident_id] = due
    ids = s.scalars(
        select(Incident.id).where(Incident.grade == grade, Incident.status.in_(OPEN_STATUSES))
    ).all()
    far = T0 + timedelta(days=10_000)
    return sorted(ids, key=lambda i: (i not in nearest, nearest.get(i, far), -i))[:limit]


def test_the_grade_lists_are_the_nearest_deadlines_first_then_the_newest(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    rng = random.Random(5)
    for n in range(30):
        open_(
            any_factory,
            any_org,
            rng.choice(("general", "major")),
            at=T0 + timedelta(minutes=n),
            detected_at=T0 + timedelta(minutes=rng.choice((0, n))),  # equal deadlines too
        )
    with any_factory() as s, s.begin():
        # Some reports met (owing nothing more), some missed: deadlines of both kinds.
        for ob in s.scalars(select(Obligation)):
            roll = rng.random()
            if roll < 0.3:
                s.execute(update(Obligation).where(Obligation.id == ob.id).values(status="met"))
            elif roll < 0.5:
                s.execute(update(Obligation).where(Obligation.id == ob.id).values(status="missed"))
    with any_factory() as s:
        for grade in ("general", "major"):
            for limit in (1, 3, 8, 40):
                # Walking the deadlines (count unknown, or more than FEW), and ordering
                # a grade's few incidents from their own deadlines: the same list.
                for count in (None, dashboard.FEW + 1, dashboard.FEW):
                    got = [
                        i.id
                        for i in dashboard._by_urgency(
                            s,
                            [Incident.status.in_(OPEN_STATUSES), Incident.grade == grade],
                            limit,
                            count,
                        )
                    ]
                    assert got == _expected(s, grade, limit), (grade, limit, count)
        groups = {g.grade: [i.id for i in g.incidents] for g in dashboard.grade_groups(s, EVERYONE)}
        assert groups["general"] == _expected(s, "general", dashboard.PER_GRADE)
