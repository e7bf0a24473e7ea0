"""Figures month by month over a chosen period, for the bureau's monthly and yearly reviews.

A month is a calendar month in the policy's time zone. Each figure counts an event in the
month it happened: incidents by the month they were logged (by their grade now), reports by
the month they were due (met on time, filed late, missed), breaches by the month the
deadline passed, times to acknowledge by the month of the acknowledgement (from logging,
as the dashboard counts it) and times to resolve by the month of the resolution (from
detection, as the handling target counts).

Every figure is one grouped query: the month of a row is a ``CASE`` over the month
boundaries (UTC instants computed here, so the time zone needs no database support), and
the 90th percentile is the nearest-rank value, read with window functions
(``row_number``/``count`` over the month). The same SQL runs on SQLite and PostgreSQL, and
the cost does not grow with Python loops over incidents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from escalation.models import Obligation
from incidents.errors import ValidationError
from incidents.grading import GRADES
from incidents.models import Incident

MAX_MONTHS = 36
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """Whole calendar months, ``first`` to ``last`` inclusive (each the 1st of its month)."""

    first: date
    last: date

    @property
    def months(self) -> list[date]:
        out = [self.first]
        while out[-1] < self.last:
            out.append(_next_month(out[-1]))
        return out

    def label(self, month: date) -> str:
        return f"{month.year:04d}-{month.month:02d}"


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _parse_month(raw: str, field: str) -> date:
    match = _MONTH.match(raw.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ValidationError(
            "must be a month written YYYY-MM (e.g. 2026-01)",
            field=field,
            code=f"{field}.format",
            params={"value": raw[:20]},
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_period(raw_from: str | None, raw_to: str | None, *, now: datetime, tz: tzinfo) -> Period:
    """The period ``from``–``to`` (``YYYY-MM``); by default the twelve months up to now.

    Refused, naming the field: a malformed month, ``from`` after ``to``, a start in the
    future, or more than ``MAX_MONTHS`` months.
    """
    local = now.astimezone(tz).date()
    this_month = date(local.year, local.month, 1)
    last = _parse_month(raw_to, "to") if raw_to else this_month
    if raw_from:
        first = _parse_month(raw_from, "from")
    else:
        first = date(last.year - 1, last.month, 1)
        first = _next_month(first)
    if first > last:
        raise ValidationError(
            "must not be after the end of the period (%(to)s)",
            field="from",
            code="from.after_to",
            params={"to": f"{last:%Y-%m}"},
        )
    if first > this_month:
        raise ValidationError(
            "cannot be in the future", field="from", code="from.future", params={}
        )
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count > MAX_MONTHS:
        raise ValidationError(
            "the period may span at most %(max)s months",
            field="to",
            code="to.too_long",
            params={"max": MAX_MONTHS},
        )
    return Period(first, last)


def boundaries(period: Period, tz: tzinfo) -> list[datetime]:
    """The UTC instant each month starts at, and the end of the last month."""
    starts = [*period.months, _next_month(period.last)]
    return [datetime.combine(m, time(0), tzinfo=tz).astimezone(UTC) for m in starts]


def month_of(column: Any, bounds: list[datetime]) -> ColumnElement[Any]:
    """The month index (0 = the first) of ``column``; NULL outside the period."""
    whens = [(column < bound, literal(i - 1)) for i, bound in enumerate(bounds) if i > 0]
    return case(*whens, else_=None)


def in_period(column: Any, bounds: list[datetime]) -> ColumnElement[bool]:
    return and_(column.is_not(None), column >= bounds[0], column < bounds[-1])


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0  # UTC text on SQLite


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def durations(
    session: Session, start: Any, end: Any, bounds: list[datetime], *extra: ColumnElement[bool]
) -> dict[str, Any]:
    """Count, mean and p90 (nearest rank) of ``end - start`` by month of ``end``, and overall."""
    months = len(bounds) - 1
    seconds = seconds_between(session, start, end)
    month = month_of(end, bounds)
    where = [in_period(end, bounds), start.is_not(None), end >= start, *extra]
    per_month: list[dict[str, Any]] = [
        {"count": 0, "mean_seconds": None, "p90_seconds": None} for _ in range(months)
    ]
    for index, count, mean in session.execute(
        select(month, func.count(), func.avg(seconds)).where(*where).group_by(month)
    ).all():
        per_month[int(index)].update(count=int(count), mean_seconds=_round(mean))
    ranked = (
        select(
            month.label("m"),
            seconds.label("s"),
            func.row_number().over(partition_by=month, order_by=seconds).label("rn"),
            func.count().over(partition_by=month).label("n"),
        )
        .where(*where)
        .subquery()
    )
    for index, p90 in session.execute(
        select(ranked.c.m, func.min(ranked.c.s))
        .where(ranked.c.rn * 10 >= ranked.c.n * 9)
        .group_by(ranked.c.m)
    ).all():
        per_month[int(index)]["p90_seconds"] = _round(p90)
    whole = (
        select(
            seconds.label("s"),
            func.row_number().over(order_by=seconds).label("rn"),
            func.count().over().label("n"),
        )
        .where(*where)
        .subquery()
    )
    count, mean = session.execute(select(func.count(), func.avg(seconds)).where(*where)).one()
    p90 = session.scalar(select(func.min(whole.c.s)).where(whole.c.rn * 10 >= whole.c.n * 9))
    return {
        "months": per_month,
        "total": {"count": int(count), "mean_seconds": _round(mean), "p90_seconds": _round(p90)},
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(session: Session, period: Period, tz: tzinfo) -> dict[str, Any]:
    """Incidents, reports, breaches and times, month by month over ``period``; JSON-able."""
    bounds = boundaries(period, tz)
    months = len(bounds) - 1

    incidents = [dict.fromkeys(GRADES, 0) for _ in range(months)]
    logged = month_of(Incident.created_at, bounds)
    for index, grade, count in session.execute(
        select(logged, Incident.grade, func.count())
        .where(in_period(Incident.created_at, bounds))
        .group_by(logged, Incident.grade)
    ).all():
        incidents[int(index)][grade] = int(count)

    reports: list[dict[str, Any]] = [{"met": 0, "late": 0, "missed": 0} for _ in range(months)]
    due = month_of(Obligation.due_at, bounds)
    for index, status, count in session.execute(
        select(due, Obligation.status, func.count())
        .where(
            in_period(Obligation.due_at, bounds), Obligation.status.in_(("met", "late", "missed"))
        )
        .group_by(due, Obligation.status)
    ).all():
        reports[int(index)][status] = int(count)
    for row in reports:
        row["on_time_share"] = _share(row["met"], row["met"] + row["late"] + row["missed"])

    breaches = [0] * months
    breached = month_of(Obligation.breached_at, bounds)
    for index, count in session.execute(
        select(breached, func.count())
        .where(in_period(Obligation.breached_at, bounds))
        .group_by(breached)
    ).all():
        breaches[int(index)] = int(count)

    total_reports = {k: sum(r[k] for r in reports) for k in ("met", "late", "missed")}
    return {
        "timezone": str(tz),
        "from": period.label(period.first),
        "to": period.label(period.last),
        "months": [period.label(m) for m in period.months],
        "incidents_by_grade": incidents,
        "reports": reports,
        "breaches": breaches,
        "acknowledge": durations(session, Incident.created_at, Incident.acknowledged_at, bounds),
        "resolve": durations(session, Incident.detected_at, Incident.resolved_at, bounds),
        "totals": {
            "incidents": {g: sum(m[g] for m in incidents) for g in GRADES},
            "reports": {
                **total_reports,
                "on_time_share": _share(total_reports["met"], sum(total_reports.values())),
            },
            "breaches": sum(breaches),
        },
    }
