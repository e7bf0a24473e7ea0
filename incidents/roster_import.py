"""Import a month of the duty roster (值班表) from the xlsx or CSV file an office keeps.

The layout (``docs/roster.md`` shows it, ``docs/roster-sample.xlsx`` is an example):

- the first worksheet of an xlsx workbook, or a CSV file (UTF-8, with or without a BOM,
  or GB18030 as Excel saves it on a Chinese Windows);
- title rows may come first; the **header row** is the first of the first
  ``HEADER_SCAN`` rows that has a date column (``日期`` or ``date``);
- one column per roster role, headed in Chinese or English (``ROLE_HEADERS``): 值班员 /
  ``duty_officer``, 带班领导 / ``duty_leader``, 技术值班 / ``technical_oncall``; at least
  one of them. Other columns (星期, 备注, phone numbers…) are ignored;
- **one row per day** of the month: the date (a date cell, ``2026-12-01``,
  ``2026/12/1``, ``2026年12月1日`` or ``12月1日``, a trailing ``(周二)`` allowed), then
  in each role's column the person, by login or by name. An empty cell leaves that day
  to the rotation; blank rows are skipped.

A row's person holds the role's duty for that day's shift: from the role's first
handoff time on that date (the rotation in effect at the start of the month, else
``DEFAULT_HANDOFF``) to the same time the next day, in the roster's time zone.

Importing writes the month as **overrides** (``incidents.rosters.add_override``, kind
``import``) in the caller's one transaction: the rotation stays as it is, and the file
says who covers which day. Importing a month again revokes the previous import's
overrides of that month first (revoked, never deleted), so the new file replaces the old.
Days already over are skipped (the past is never rewritten); a day in progress counts from
now on. Every change is audited, and one ``roster.imported`` event records the file's
name, its SHA-256 and the counts.

Everything is read and checked before anything is written. Any problem — an unknown
person, a bad date, a date outside the month, a day given twice, a missing header —
raises ``ValidationError`` naming the row and the column ("row 7, column C (带班领导):
no person named 张三"), with ``row``, ``column`` and ``header`` in its params; the caller
rolls back and nothing is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit import Actor, record
from incidents.roster_sheet import Assignment, parse_month, plan, read_rows
from incidents.rosters import (
    DEFAULT_ZONE,
    RosterOverride,
    RosterRotation,
    ensure_roster,
    revoke_override,
    roster_for,
    rotation_at,
)
from incidents.rosters import (
    add_override as add_roster_override,
)

__all__ = ["ImportResult", "import_month"]

DEFAULT_HANDOFF = time(8, 30)  # the usual 08:30–08:30 shift of a command center
IMPORT_KIND = "import"


@dataclass
class ImportResult:
    month: str
    sha256: str
    days: int = 0  # rows read
    overrides: dict[str, int] = field(default_factory=dict)  # per role, written
    revoked: int = 0  # overrides of an earlier import of the month
    skipped_past: int = 0  # assignments whose shift was already over
    assignments: list[Assignment] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "sha256": self.sha256,
            "days": self.days,
            "overrides": dict(self.overrides),
            "revoked": self.revoked,
            "skipped_past": self.skipped_past,
        }


# --------------------------------------------------------------------------- writing


def _shift_start(session: Session, role: str, month_start: date) -> tuple[ZoneInfo, time]:
    """The roster's zone and the time of day its daily shift starts for ``month_start``."""
    roster = roster_for(session, role)
    zone = ZoneInfo(roster.timezone if roster is not None else DEFAULT_ZONE)
    if roster is None:
        return zone, DEFAULT_HANDOFF
    at = datetime.combine(month_start, time(0), tzinfo=zone)
    rotation = (
        rotation_at(session, roster.id, at)
        or session.scalars(
            select(RosterRotation)
            .where(RosterRotation.roster_id == roster.id)
            .order_by(RosterRotation.effective_from)
            .limit(1)
        ).first()
    )
    if rotation is None:
        return zone, DEFAULT_HANDOFF
    return zone, min(rotation.handoff_times)


def import_month(
    session: Session,
    *,
    data: bytes,
    filename: str,
    month: str,
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
) -> ImportResult:
    """Write the month of ``data`` as import overrides (see the module's docstring).

    Raises ``ValidationError`` naming the row and column before writing anything; the
    caller's transaction holds every write, so committing it or rolling back is all or
    nothing. With ``dry_run`` the file is only checked.
    """
    first = parse_month(month)
    rows = read_rows(data, filename)
    planned = plan(session, rows, first)
    assignments = planned.assignments
    result = ImportResult(
        month=first.strftime("%Y-%m"),
        sha256=hashlib.sha256(data).hexdigest(),
        days=len(planned.days),
        assignments=assignments,
    )
    roles = planned.roles
    result.overrides = dict.fromkeys(roles, 0)
    if dry_run:
        return result
    following = (first + timedelta(days=32)).replace(day=1)
    for role in roles:
        roster = ensure_roster(session, role, actor=actor, now=now)
        zone, start_time = _shift_start(session, role, first)
        window_start = datetime.combine(first, start_time, tzinfo=zone)
        window_end = datetime.combine(following, start_time, tzinfo=zone)
        for earlier in session.scalars(
            select(RosterOverride).where(
                RosterOverride.roster_id == roster.id,
                RosterOverride.kind == IMPORT_KIND,
                RosterOverride.revoked_at.is_(None),
                RosterOverride.starts_at >= window_start,
                RosterOverride.starts_at < window_end,
            )
        ):
            revoke_override(session, earlier.id, actor=actor, now=now)
            result.revoked += 1
        for a in (a for a in assignments if a.role == role):
            starts = datetime.combine(a.day, start_time, tzinfo=zone)
            ends = datetime.combine(a.day + timedelta(days=1), start_time, tzinfo=zone)
            if ends <= now:
                result.skipped_past += 1
                continue
            add_roster_override(
                session,
                role,
                person_id=a.person_id,
                starts_at=starts,
                ends_at=ends,
                actor=actor,
                now=now,
                reason=f"{filename or 'roster'} {result.month} row {a.row}",
                kind=IMPORT_KIND,
            )
            result.overrides[role] += 1
    record(
        session,
        actor=actor,
        kind="roster.imported",
        subject_type="roster",
        subject_id=None,
        data={"file": filename, **result.to_dict()},
        now=now,
    )
    return result
