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

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Session

from escalation import reporting
from escalation.models import IncidentClock, Obligation
from escalation.tallies import FiguresRollup, IncidentTally
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
    """Mean of ``end - start`` in seconds over incidents where both are set, in SQL (the
    recount; the figures read the same from ``escalation.tallies``)."""
    seconds: ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", end - start)
    else:  # SQLite stores UTC text that julianday() reads
        seconds = (func.julianday(end) - func.julianday(start)) * 86400.0
    value = session.scalar(
        select(func.avg(seconds)).where(start.is_not(None), end.is_not(None), end >= start)
    )
    return None if value is None else float(value)


def _blank_grades() -> dict[str, dict[str, Any]]:
    return {
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


@dataclass(frozen=True)
class AllTime:
    """The figures over the whole record, before rounding: counted or recounted."""

    #: grade -> {"met", "late", "missed"}: its incidents' reports by outcome.
    reports: dict[str, dict[str, int]]
    reported_as_required: dict[str, int]
    mean_time_to_acknowledge_seconds: float | None
    mean_time_to_resolve_seconds: float | None
    handled_promptly: dict[bool, int]


def counted(session: Session, now: datetime) -> AllTime:
    """The all-time figures from the counters of ``escalation.tallies``: four rows, and
    the pending obligations already past their deadline (the one part that moves with
    ``now``, through ``ix_obligation_pending_due``)."""
    rows = list(session.scalars(select(FiguresRollup)))
    reports = {g: {"met": 0, "late": 0, "missed": 0} for g in GRADES}
    for row in rows:
        counts = reports.setdefault(row.grade, {"met": 0, "late": 0, "missed": 0})
        counts["met"] += row.reports_met
        counts["late"] += row.reports_late
        counts["missed"] += row.reports_missed

    def total(column: str) -> Any:
        return sum(getattr(row, column) for row in rows)

    # Incidents whose only failure is a pending report past its deadline, not yet marked
    # missed by the sweep: "no" now, counted "owing" by the tallies.
    overdue = int(
        session.scalar(
            select(func.count(func.distinct(Obligation.incident_id)))
            .join(IncidentTally, IncidentTally.incident_id == Obligation.incident_id)
            .where(
                Obligation.status == _const("pending"),  # ix_obligation_pending_due
                Obligation.due_at <= now,
                IncidentTally.obligations_late + IncidentTally.obligations_missed == 0,
            )
        )
        or 0
    )
    failed = int(total("incidents_failed")) + overdue
    unknown = int(total("incidents_owing")) - overdue
    acknowledged, resolved = int(total("acknowledged")), int(total("resolved"))
    return AllTime(
        reports=reports,
        reported_as_required={
            "yes": int(total("incidents")) - failed - unknown,
            "not_yet_known": unknown,
            "no": failed,
        },
        mean_time_to_acknowledge_seconds=(
            float(total("acknowledge_seconds")) / acknowledged if acknowledged else None
        ),
        mean_time_to_resolve_seconds=(
            float(total("resolve_seconds")) / resolved if resolved else None
        ),
        handled_promptly={True: int(total("promptly_yes")), False: int(total("promptly_no"))},
    )


def recounted(session: Session, now: datetime) -> AllTime:
    """The same figures counted from the rows, reading every incident and obligation:
    what the counters must equal (``escalation.tallies.differences``)."""
    reports = {g: {"met": 0, "late": 0, "missed": 0} for g in GRADES}
    for grade, status, count in session.execute(
        select(Incident.grade, Obligation.status, func.count())
        .join(Obligation, Obligation.incident_id == Incident.id)
        .where(Obligation.status.in_(("met", "late", "missed")))
        .group_by(Incident.grade, Obligation.status)
    ).all():
        reports.setdefault(grade, {"met": 0, "late": 0, "missed": 0})[status] += int(count)
    prompt = dict(
        session.execute(
            select(IncidentClock.handled_promptly, func.count())
            .where(IncidentClock.handled_promptly.is_not(None))
            .group_by(IncidentClock.handled_promptly)
        ).all()
    )
    return AllTime(
        reports=reports,
        reported_as_required=reporting.counts(session, now),
        mean_time_to_acknowledge_seconds=_mean_seconds(
            session, Incident.created_at, Incident.acknowledged_at
        ),
        mean_time_to_resolve_seconds=_mean_seconds(
            session, Incident.detected_at, Incident.resolved_at
        ),
        handled_promptly={True: int(prompt.get(True, 0)), False: int(prompt.get(False, 0))},
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def figures(
    session: Session, *, now: datetime, tz: tzinfo, all_time: AllTime | None = None
) -> dict[str, Any]:
    """Every figure at ``now`` (see the module doc); JSON-able.

    ``all_time``: the whole record's figures (default: :func:`counted`).
    """
    grades = _blank_grades()
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
    whole = all_time or counted(session, now)
    totals = {"met": 0, "late": 0, "missed": 0}
    for grade, counts in whole.reports.items():
        if grade not in grades:
            continue
        row = grades[grade]
        row["reports_met"], row["late"], row["breached"] = (
            counts["met"],
            counts["late"],
            counts["missed"],
        )
        for status in totals:
            totals[status] += counts[status]
    for row in grades.values():
        decided = row["reports_met"] + row["late"] + row["breached"]
        row["reports_on_time_share"] = _share(row["reports_met"], decided)

    local_midnight = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)

    def since_midnight(column: Any, model: Any = Incident) -> int:
        # A range over the column's index: the day's rows, not the record's.
        stmt = (
            select(func.count()).select_from(model).where(column >= local_midnight, column <= now)
        )
        return int(session.scalar(stmt) or 0)

    decided = sum(totals.values())
    prompt = whole.handled_promptly
    return {
        "at": now.isoformat(),
        "timezone": str(tz),
        "grades": grades,
        "reports": {**totals, "on_time_share": _share(totals["met"], decided)},
        # Incidents by the one tri-state rule (escalation.reporting): 5.1(a)–5.3(a).
        "reported_as_required": whole.reported_as_required,
        "mean_time_to_acknowledge_seconds": _rounded(whole.mean_time_to_acknowledge_seconds),
        "mean_time_to_resolve_seconds": _rounded(whole.mean_time_to_resolve_seconds),
        "handled_promptly": {
            "yes": prompt[True],
            "no": prompt[False],
            "share": _share(prompt[True], prompt[True] + prompt[False]),
        },
        "today": {
            "since": local_midnight.isoformat(),
            "opened": since_midnight(Incident.created_at),  # ix_incident_created
            "acknowledged": since_midnight(Incident.acknowledged_at),  # ix_incident_acknowledged
            "resolved": since_midnight(Incident.resolved_at),  # ix_incident_resolved
            "reports_filed": since_midnight(Report.filed_at, Report),  # ix_report_filed
            "breaches": since_midnight(
                Obligation.breached_at, Obligation
            ),  # ix_obligation_breached
        },
    }


def differences(session: Session, now: datetime) -> list[str]:
    """Where the counters (:func:`counted`) disagree with the rows (:func:`recounted`),
    one line each; empty when they agree. Reads the whole record: a check, not a view."""
    kept, rows = counted(session, now), recounted(session, now)
    found: list[str] = []
    for grade in sorted(set(kept.reports) | set(rows.reports)):
        a, b = kept.reports.get(grade, {}), rows.reports.get(grade, {})
        for status in ("met", "late", "missed"):
            if a.get(status, 0) != b.get(status, 0):
                found.append(
                    f"reports {status} of {grade}: counted {a.get(status, 0)}, "
                    f"in the rows {b.get(status, 0)}"
                )
    pairs: list[tuple[str, object, object]] = [
        ("reported as required", kept.reported_as_required, rows.reported_as_required),
        ("handled promptly", kept.handled_promptly, rows.handled_promptly),
    ]
    found += [f"{name}: counted {a}, in the rows {b}" for name, a, b in pairs if a != b]
    for name, x, y in (
        (
            "mean time to acknowledge",
            kept.mean_time_to_acknowledge_seconds,
            rows.mean_time_to_acknowledge_seconds,
        ),
        (
            "mean time to resolve",
            kept.mean_time_to_resolve_seconds,
            rows.mean_time_to_resolve_seconds,
        ),
    ):
        # Sums of floating seconds, added and taken away change by change: equal to a
        # millisecond, far below the tenth of a second shown.
        if (x is None) != (y is None) or (x is not None and y is not None and abs(x - y) > 1e-3):
            found.append(f"{name}: counted {x}, in the rows {y}")
    return found
