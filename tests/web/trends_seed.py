"""A year of incidents for the trends tests, written through the use cases.

Twelve months up to T0 (December 2025 to November 2026): each month a few incidents of
mixed grades are logged, acknowledged after some minutes, reported on time or late
(after the sweep has marked the deadline breached), resolved after some hours; and a few
accountability cases are opened and decided. Enough variety for every chart to draw
something, few enough rows to seed in a second or two.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from accountability.models import Case
from escalation import response
from escalation.sweep import sweep
from incidents.inputs import IncidentInput
from incidents.org import Department, Person
from tests.conftest import T0, actor_for
from tests.escalation.support import INITIAL

GRADE_CYCLE = ("general", "relatively_major", "general", "major", "general", "relatively_major")


def _month_start(months_back: int) -> datetime:
    year, month = T0.year, T0.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, 2, 0, tzinfo=UTC)


def seed_year(app: Flask, org: dict[str, Person], months: int = 12) -> list[int]:
    """Log, handle and report ``months`` months of incidents up to T0; return their ids
    (oldest first)."""
    services = app.extensions["fenghuo"]
    factory, policy = services.sessions, services.policy
    with factory() as s:
        traffic = s.scalars(select(Department.id).where(Department.code == "traffic")).one()
    duty, head = actor_for(org["duty"]), actor_for(org["cchead"])
    ids: list[int] = []
    for back in range(months - 1, -1, -1):
        start = _month_start(back)
        for k in range(2 + (back * 7) % 4):
            grade = GRADE_CYCLE[(back + k) % len(GRADE_CYCLE)]
            at = start + timedelta(days=1 + 4 * k, hours=k)
            data = IncidentInput.parse(
                {
                    "title": f"趋势样例 {at:%Y-%m} #{k + 1}",
                    "category": "network_attack",
                    "grade": grade,
                    "detected_at": at.isoformat(),
                    "responsible_department_id": traffic,
                }
            )
            with factory() as s, s.begin():
                incident_id = response.open_incident(
                    s, data=data, actor=duty, now=at, policy=policy
                ).id
            ids.append(incident_id)
            ack_at = at + timedelta(minutes=4 + 3 * k + back)
            with factory() as s, s.begin():
                response.acknowledge(s, incident_id=incident_id, actor=head, now=ack_at)
            late = (back + k) % 3 == 0
            filed_at = at + (timedelta(hours=26) if late else timedelta(minutes=40))
            if late:
                while sweep(factory, now=filed_at - timedelta(minutes=1), policy=policy).more:
                    pass
            with factory() as s, s.begin():
                response.file_report(
                    s,
                    incident_id=incident_id,
                    kind="initial",
                    items=INITIAL,
                    actor=duty,
                    now=filed_at,
                    policy=policy,
                    late_reason="值班交接延误" if late else None,
                )
            resolved_at = at + timedelta(hours=3 + 5 * k + back % 4 * 7)
            with factory() as s, s.begin():
                response.start_handling(s, incident_id=incident_id, actor=head, now=filed_at)
            with factory() as s, s.begin():
                response.resolve(
                    s, incident_id=incident_id, actor=head, now=resolved_at, policy=policy
                )
    while sweep(factory, now=T0, policy=policy).more:
        pass
    _cases(app, org, ids, months)
    return ids


def _cases(app: Flask, org: dict[str, Person], ids: list[int], months: int) -> None:
    """Accountability cases over the year: opened, some decided a few weeks later."""
    factory = app.extensions["fenghuo"].sessions
    with factory() as s, s.begin():
        for n, incident_id in enumerate(ids[::3]):
            opened = _month_start(months - 1 - (n % months)) + timedelta(days=3 + n % 9)
            decided = opened + timedelta(days=12) if n % 3 != 1 else None
            tier = None if decided is None and n % 4 == 1 else n % 5
            s.add(
                Case(
                    incident_id=incident_id,
                    subject_id=org["duty"].id,
                    subject_role="duty_officer",
                    subject_clause="5.1(a)",
                    tier=tier,
                    opened_at=opened,
                    updated_at=decided or opened,
                    decided_at=decided if decided is not None and decided <= T0 else None,
                    status="decided" if decided is not None and decided <= T0 else "open",
                )
            )
