"""Each grade's default chain and obligations, walked minute by minute with a frozen clock.

The incident belongs to the traffic division, so the relative roles resolve to its head
(trafhead) and its deputy director in charge (deputy). Leading group members are netsec,
director and lgmember; its office is lgoffice (the demo organisation). Nobody
acknowledges, confirms or files anything: every page, inform (with its reminders and its
escalation one up and to the deputy), warning and breach of the policy shows.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from escalation.queries import obligations_of
from incidents.org import Person
from tests.escalation.support import Walk, open_, people

EXPECTED: dict[str, dict[int, set[tuple[str, str]]]] = {
    # 24 h internal report; chain: command center, then 3(2) + the owning department.
    # Inform: the leader on duty at once — no roster here, so 3(2) (netsec) in its place —
    # unconfirmed at 2 h the director is told, and at 4 h netsec's deputy.
    "general": {
        0: people("step", "duty", "cchead") | people("inform", "netsec"),
        60: people("step", "netsec", "trafhead"),
        120: people("inform", "director"),
        240: people("step", "netsec") | people("inform", "deputy"),
        480: people("step", "netsec"),
        720: people("step", "netsec") | people("warning", "duty", "cchead"),
        1296: people("warning", "duty", "cchead"),
        1440: people("breach", "cchead", "netsec"),
    },
    # Pages: the command center, the owning department at 15 min, the director from 1 h.
    # Informs: the leader on duty at once (no roster: 3(2), netsec), reminded at 10,
    # unconfirmed at 30 the director is told and at 60 netsec's deputy; 3(2) at 30 min,
    # reminded at 40 and 50; unconfirmed at 60 the director is told, and at 90 his deputy;
    # then the line of escalation has nobody left.
    "relatively_major": {
        0: people("step", "cchead", "duty") | people("inform", "netsec"),
        10: people("inform", "netsec"),
        15: people("step", "deputy", "trafhead"),
        30: people("inform", "director", "netsec"),
        40: people("inform", "netsec"),
        50: people("inform", "netsec"),
        60: people("inform", "deputy", "director")
        | people("step", "director")
        | people("warning", "cchead", "duty"),
        90: people("inform", "deputy") | people("step", "director"),
        108: people("warning", "cchead", "duty"),
        120: people("breach", "cchead", "director", "netsec")
        | people("step", "director")
        | people("warning", "cchead", "duty"),
        216: people("warning", "cchead", "duty"),
        240: people("breach", "cchead", "director", "netsec"),
    },
    # Pages: the command center (reminded at 5 and 10), 3(2) as responder at 15. Informs:
    # 3(2) at once, the director at 10, the leading group and its office at 30, each
    # reminded and, unconfirmed, passed one up and to the deputy until nobody is left.
    "major": {
        0: people("inform", "netsec") | people("step", "cchead", "duty"),
        5: people("inform", "netsec") | people("step", "cchead", "duty"),
        10: people("inform", "director", "netsec") | people("step", "cchead", "duty"),
        15: people("inform", "director") | people("step", "netsec"),
        20: people("inform", "director"),
        25: people("inform", "deputy"),
        30: people("inform", "deputy", "director", "lgmember", "lgoffice", "netsec")
        | people("warning", "cchead", "duty"),
        40: people("inform", "netsec"),
        45: people("inform", "director", "lgmember", "lgoffice", "netsec"),
        54: people("warning", "cchead", "duty"),
        60: people("breach", "director", "lgoffice", "netsec")
        | people("inform", "deputy", "director"),
        90: people("inform", "deputy", "netsec"),
        120: people("inform", "netsec") | people("warning", "cchead", "duty"),
        216: people("warning", "cchead", "duty"),
        240: people("breach", "director", "lgoffice", "netsec"),
    },
    # Informs: the director and 3(2) at once (reminded every 3 min), the leading group at
    # 5; pages: the command center every 2 min, the deputy in charge at 5, 3(1) and 3(2)
    # as responders from 10 every 5 min. 30 min internal report, warned at ½, ¾, 9⁄10.
    "especially_major": {
        0: people("inform", "director", "netsec") | people("step", "cchead", "duty"),
        2: people("step", "cchead", "duty"),
        3: people("inform", "director", "netsec"),
        4: people("step", "cchead", "duty"),
        5: people("inform", "director", "lgmember", "lgoffice", "netsec")
        | people("step", "deputy"),
        6: people("inform", "director", "netsec"),
        10: people("inform", "deputy", "director", "lgmember", "lgoffice", "netsec")
        | people("step", "director", "netsec"),
        15: people("inform", "director", "lgmember", "lgoffice", "netsec")
        | people("step", "director", "netsec")
        | people("warning", "cchead", "duty"),
        20: people("inform", "deputy", "director", "netsec") | people("step", "director", "netsec"),
        23: people("warning", "cchead", "duty"),
        25: people("step", "director", "netsec"),
        27: people("warning", "cchead", "duty"),
        30: people("breach", "director", "lgmember", "lgoffice", "netsec")
        | people("step", "director", "netsec"),
        35: people("inform", "deputy", "netsec"),
        50: people("inform", "netsec"),
        120: people("warning", "cchead", "duty"),
        180: people("warning", "cchead", "duty"),
        216: people("warning", "cchead", "duty"),
        240: people("breach", "director", "lgmember", "lgoffice", "netsec"),
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
