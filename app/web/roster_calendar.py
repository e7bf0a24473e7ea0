"""The month calendar of the duty roster: which shifts begin on each day, as the roster
page shows them.

Each day lists the shifts that *start* that day in the policy's time zone, as
``incidents.rosters.shifts_between`` resolves them (rotation, then overrides and swaps),
cut again at every handoff, so a 08:30–08:30 shift appears once, on the day it begins,
and a leader's week shows on each of its days.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.web.translate import _
from incidents import rosters
from incidents.errors import ValidationError
from incidents.org import Person


@dataclass(frozen=True)
class Piece:
    """A span of one role's duty, as the calendar shows it."""

    role: str
    starts_at: datetime
    ends_at: datetime
    person: str | None  # the name of who holds it; None: nobody (a gap)
    replaces: str | None  # whom an override or swap stands in for
    kind: str  # rotation | override | swap
    holiday: bool


@dataclass
class Day:
    day: date
    in_month: bool
    today: bool
    holiday_kind: str | None  # holiday | workday (调休 make-up working day) | None
    holiday_name: str
    pieces: dict[str, list[Piece]] = field(default_factory=dict)

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5


def parse_month(text: str | None, today: date) -> date:
    """``YYYY-MM`` as the first day of that month; the current month when not given."""
    if not text:
        return today.replace(day=1)
    try:
        year, month = text.strip().split("-")
        parsed = date(int(year), int(month), 1)
    except ValueError:
        raise ValidationError(
            _("Enter a month as YYYY-MM, for example 2026-12."), field="month"
        ) from None
    if not 2000 <= parsed.year <= 2100:
        raise ValidationError(_("Enter a month between 2000 and 2100."), field="month")
    return parsed


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_key(first: date) -> str:
    return first.strftime("%Y-%m")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def person_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all())


def holidays_between(session: Session, first: date, last: date) -> dict[date, rosters.HolidayDay]:
    rows = session.scalars(
        select(rosters.HolidayDay).where(
            rosters.HolidayDay.day >= first.isoformat(), rosters.HolidayDay.day <= last.isoformat()
        )
    )
    return {date.fromisoformat(r.day): r for r in rows}


def resolved_pieces(
    session: Session, role: str, start: datetime, end: datetime
) -> list[tuple[rosters.Shift, str]]:
    """The role's shifts over ``[start, end)`` with the kind of each (rotation, override
    or swap)."""
    shifts = rosters.shifts_between(session, role, start, end)
    override_ids = {s.override_id for s in shifts if s.override_id is not None}
    kinds: dict[int, str] = {}
    if override_ids:
        kinds = dict(
            session.execute(
                select(rosters.RosterOverride.id, rosters.RosterOverride.kind).where(
                    rosters.RosterOverride.id.in_(override_ids)
                )
            ).all()
        )
    return [
        (s, kinds.get(s.override_id, "override") if s.override_id is not None else "rotation")
        for s in shifts
    ]


def handoff_cuts(session: Session, role: str, start: datetime, end: datetime) -> list[datetime]:
    """The rotation's handoffs inside ``(start, end)``: where one day's shift ends.

    ``shifts_between`` joins the days one person holds in a row (a leader's whole week)
    into one span; the calendar cuts it again at each handoff, so that every day shows
    its shift."""
    return [
        slot.ends_at
        for slot in rosters.scheduled_between(session, role, start, end)
        if slot.ends_at < end
    ]


def day_pieces(
    session: Session, role: str, start: datetime, end: datetime
) -> list[tuple[rosters.Shift, str]]:
    """The resolved shifts of ``role`` over ``[start, end)`` cut at every handoff."""
    cuts = handoff_cuts(session, role, start, end)
    out: list[tuple[rosters.Shift, str]] = []
    for shift, kind in resolved_pieces(session, role, start, end):
        inside = [c for c in cuts if shift.starts_at < c < shift.ends_at]
        bounds = [shift.starts_at, *inside, shift.ends_at]
        for a, b in itertools.pairwise(bounds):
            out.append((replace(shift, starts_at=a, ends_at=b), kind))
    return out


def month_weeks(
    session: Session, first: date, roles: tuple[str, ...], zone: ZoneInfo, today: date
) -> list[list[Day]]:
    """The month as weeks Monday to Sunday, each day with the shifts starting on it."""
    grid_start = first - timedelta(days=first.weekday())
    last = shift_month(first, 1) - timedelta(days=1)
    grid_end = last + timedelta(days=6 - last.weekday())
    holidays = holidays_between(session, grid_start, grid_end)
    days: dict[date, Day] = {}
    d = grid_start
    while d <= grid_end:
        row = holidays.get(d)
        days[d] = Day(
            day=d,
            in_month=d.month == first.month,
            today=d == today,
            holiday_kind=row.kind if row is not None else None,
            holiday_name=row.name if row is not None else "",
            pieces={role: [] for role in roles},
        )
        d += timedelta(days=1)
    # From the day before the grid: a piece is listed on the day it starts, and the
    # first piece of a query always starts at the query's own start.
    start = local_midnight(grid_start - timedelta(days=1), zone)
    end = local_midnight(grid_end + timedelta(days=1), zone)
    found = {role: day_pieces(session, role, start, end) for role in roles}
    ids = {
        pid
        for shifts in found.values()
        for s, _kind in shifts
        for pid in (s.person_id, s.scheduled_id)
        if pid is not None
    }
    names = person_names(session, ids)
    for role, shifts in found.items():
        for s, kind in shifts:
            cell = days.get(s.starts_at.astimezone(zone).date())
            if cell is None:
                continue
            replaces = None
            if kind != "rotation" and s.scheduled_id not in (None, s.person_id):
                replaces = names.get(s.scheduled_id or 0)
            cell.pieces[role].append(
                Piece(
                    role=role,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    person=names.get(s.person_id) if s.person_id is not None else None,
                    replaces=replaces,
                    kind=kind,
                    holiday=s.holiday,
                )
            )
    ordered = [days[k] for k in sorted(days)]
    return [ordered[i : i + 7] for i in range(0, len(ordered), 7)]
