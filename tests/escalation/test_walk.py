"""Each grade's default chain and obligations, walked minute by minute with a frozen clock.

The incident belongs to the traffic division, so the relative roles resolve to its head
(trafhead) and its deputy director in charge (deputy). Leading group members are netsec,
director and lgmember; its office is lgoffice (the demo organisation). Nobody
acknowledges or files anything: every page, warning and breach of the policy shows.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from escalation.queries import obligations_of
from incidents.org import Person
from tests.escalation.support import Walk, open_, people

LGM = ("netsec", "director", "lgmember")
FIRST_MAJOR = ("duty", "cchead", "netsec")

EXPECTED: dict[str, dict[int, set[tuple[str, str]]]] = {
    # 24 h internal report; chain: command center, then 3(2) + the owning department.
    "general": {
        0: people("step", "duty", "cchead"),
        60: people("step", "netsec", "trafhead"),
        240: people("step", "netsec"),
        480: people("step", "netsec"),
        720: people("step", "netsec") | people("warning", "duty", "cchead"),
        1296: people("warning", "duty", "cchead"),
        1440: people("breach", "cchead", "netsec"),
    },
    "relatively_major": {
        0: people("step", *FIRST_MAJOR),
        15: people("step", "trafhead", "deputy"),
        60: people("step", "director") | people("warning", *FIRST_MAJOR),
        90: people("step", "director"),
        108: people("warning", *FIRST_MAJOR),
        120: people("step", "director")
        | people("breach", "cchead", "netsec", "director")
        | people("warning", *FIRST_MAJOR),
        216: people("warning", *FIRST_MAJOR),
        240: people("breach", "cchead", "netsec", "director"),
    },
    # The director within ten minutes; the leading group from 30 min every 15 min.
    "major": {
        0: people("step", *FIRST_MAJOR),
        10: people("step", "director"),
        30: people("step", *LGM) | people("warning", *FIRST_MAJOR),
        45: people("step", *LGM),
        54: people("warning", *FIRST_MAJOR),
        60: people("step", *LGM) | people("breach", "netsec", "director", "lgoffice"),
        75: people("step", *LGM),
        90: people("step", *LGM),
        120: people("warning", *FIRST_MAJOR),
        216: people("warning", *FIRST_MAJOR),
        240: people("breach", "netsec", "director", "lgoffice"),
    },
    # The director at once; 30 min internal report, warned at 1/2, 3/4 and 9/10.
    "especially_major": {
        0: people("step", "duty", "cchead", "netsec", "director"),
        5: people("step", *LGM, "lgoffice", "deputy"),
        10: people("step", "director", "netsec"),
        15: people("step", "director", "netsec")
        | people("warning", "duty", "cchead", "netsec", "director"),
        20: people("step", "director", "netsec"),
        23: people("warning", "duty", "cchead", "netsec", "director"),  # 22.5 min
        25: people("step", "director", "netsec"),
        27: people("warning", "duty", "cchead", "netsec", "director"),
        30: people("step", "director", "netsec")
        | people("breach", "netsec", "director", "lgoffice", "lgmember"),
        120: people("warning", "duty", "cchead", "netsec", "director"),
        180: people("warning", "duty", "cchead", "netsec", "director"),
        216: people("warning", "duty", "cchead", "netsec", "director"),
        240: people("breach", "netsec", "director", "lgoffice", "lgmember"),
    },
}


@pytest.mark.parametrize("grade", list(EXPECTED))
def test_it_pages_warns_and_breaches_each_grade_on_the_minute(
    grade: str, factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, grade)
    walk = Walk(factory, incident_id).to(max(EXPECTED[grade]) + 5)
    assert walk.timeline == EXPECTED[grade]
    with factory() as s:
        rows = obligations_of(s, incident_id, walk.now())
    # Unfiled at the deadline: missed, "not reported as required"; the final report
    # waits for the resolution.
    initial = {r["name"]: r["status"] for r in rows if r["from"] == "detected"}
    assert initial == (
        {"internal": "missed"}
        if grade == "general"
        else {"internal": "missed", "external": "missed"}
    )
    assert all(
        r["status"] == "pending" and r["due_at"] is None for r in rows if r["from"] == "resolved"
    )
