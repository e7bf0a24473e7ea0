"""Figures for the dashboard and ``GET /api/v1/stats``, computed from the records.

Per grade: incidents open, open and unacknowledged, reports due within the hour,
reports breached (missed and still unfiled) and filed late, and the share of reports
filed on time. Overall: the same report shares, incidents by "reported as required"
(yes, no, not yet known: ``escalation.reporting``), mean time to acknowledge (from logging,
when the chain starts paging) and to resolve (from detection, as the handling target
counts), the share handled promptly, and today's counts — "today" in the policy's
time zone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Session

from escalation import reporting
from escalation.models import IncidentClock, Obligation
from incidents.grading import GRADES
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident
from incidents.reports import Report


def _const(value: str) -> ColumnElement[str]:
    """``value`` written into the SQL, so the planner can match a partial index to it."""
    return literal(value, literal_execute=True)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean_seconds(session: Session, start: Any, end: Any) -> float | None:
    """Mean of ``end - start`` in seconds over incidents where both are set, in SQL.

    Averaging in the database keeps this one aggregate at 100,000 incidents instead of
    100,000 rows loaded into Python.
    """
    seconds: ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", end - start)
    else:  # SQLite stores UTC text that julianday() reads
        seconds = (func.julianday(end) - func.julianday(start)) * 86400.0
    value = session.scalar(
        select(func.avg(seconds)).where(start.is_not(None), end.is_not(None), end >= start)
    )
    return None if value is None else round(float(value), 1)


def figures(session: Session, *, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """Every figure at ``now`` (see the module doc); JSON-able."""
    grades: dict[str, dict[str, Any]] = {
        g: {
            "open": 0,
            "unacknowledged": 0,
            "due_within_hour": 0,
            "breached": 0,
            "late": 0,
            "reports_met": 0,
            "reports_on_time_share": None,
        }
        for g in GRADES
    }
    for grade, acknowledged, count in session.execute(
        select(Incident.grade, Incident.acknowledged_at.is_not(None), func.count())
        .where(Incident.status.in_([_const(s) for s in OPEN_STATUSES]))  # ix_incident_open
        .group_by(Incident.grade, Incident.acknowledged_at.is_not(None))
    ).all():
        row = grades[grade]
        row["open"] += count
        if not acknowledged:
            row["unacknowledged"] += count
    for grade, count in session.execute(
        select(Incident.grade, func.count())
        .join(Obligation, Obligation.incident_id == Incident.id)
        .where(
            Obligation.status == _const("pending"),  # ix_obligation_pending_due
            Obligation.due_at > now,
            Obligation.due_at <= now + timedelta(hours=1),
        )
        .group_by(Incident.grade)
    ).all():
        grades[grade]["due_within_hour"] = count
    totals = {"met": 0, "late": 0, "missed": 0}
    for grade, status, count in session.execute(
        select(Incident.grade, Obligation.status, func.count())
        .join(Obligation, Obligation.incident_id == Incident.id)
        .where(Obligation.status.in_(("met", "late", "missed")))
        .group_by(Incident.grade, Obligation.status)
    ).all():
        key = {"met": "reports_met", "late": "late", "missed": "breached"}[status]
        grades[grade][key] += count
        totals[status] += count
    for row in grades.values():
        decided = row["reports_met"] + row["late"] + row["breached"]
        row["reports_on_time_share"] = _share(row["reports_met"], decided)

    prompt = dict(
        session.execute(
            select(IncidentClock.handled_promptly, func.count())
            .where(IncidentClock.handled_promptly.is_not(None))
            .group_by(IncidentClock.handled_promptly)
        ).all()
    )

    local_midnight = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)

    def since_midnight(column: Any, model: Any = Incident) -> int:
        stmt = (
            select(func.count()).select_from(model).where(column >= local_midnight, column <= now)
        )
        return int(session.scalar(stmt) or 0)

    decided = sum(totals.values())
    return {
        "at": now.isoformat(),
        "timezone": str(tz),
        "grades": grades,
        "reports": {**totals, "on_time_share": _share(totals["met"], decided)},
        # Incidents by the one tri-state rule (escalation.reporting): 5.1(a)–5.3(a).
        "reported_as_required": reporting.counts(session, now),
        "mean_time_to_acknowledge_seconds": _mean_seconds(
            session, Incident.created_at, Incident.acknowledged_at
        ),
        "mean_time_to_resolve_seconds": _mean_seconds(
            session, Incident.detected_at, Incident.resolved_at
        ),
        "handled_promptly": {
            "yes": int(prompt.get(True, 0)),
            "no": int(prompt.get(False, 0)),
            "share": _share(
                int(prompt.get(True, 0)), int(prompt.get(True, 0)) + int(prompt.get(False, 0))
            ),
        },
        "today": {
            "since": local_midnight.isoformat(),
            "opened": since_midnight(Incident.created_at),
            "acknowledged": since_midnight(Incident.acknowledged_at),
            "resolved": since_midnight(Incident.resolved_at),
            "reports_filed": since_midnight(Report.filed_at, Report),
            "breaches": since_midnight(Obligation.breached_at, Obligation),
        },
    }
