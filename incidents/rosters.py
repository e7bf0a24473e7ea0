"""Duty rosters (值班表): who is on duty for a role at any moment, past or future.

A roster belongs to one duty role (``ROLES``). Its people come from a **rotation** —
an ordered list, handoff times of day in the roster's time zone (one time: a 24-hour
shift such as 08:30–08:30 next day; two: day and night), daily or weekly — and from
**overrides** (a person covers a span, for someone or for the whole roster) and
**swaps** (two people exchange two spans: two linked overrides).

History is never rewritten. A rotation is versioned: editing it appends a new version
effective from a moment not before the edit, and the answer for a moment uses the
version in effect then. An override applies to a moment only if it was recorded before
that moment and not revoked before it; revoking is a timestamp, not a delete. So "who
was on duty at 03:10 on 2 October" gives the same answer after any later edit. Every
change is audited (``incidents.audit.record``).

Public holidays and make-up working days (调休) live in ``holiday_day``, seeded from
``chinese-calendar`` (which knows 2004–2026) and confirmed or edited by an admin per
year (``holiday_year``). A rotation may name separate ``holiday_people`` for shifts
that start on a public holiday. An unconfirmed year still works — shifts follow the
ordinary rotation for days the table does not know — and ``holiday_warning`` says so.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from config.policy import DUTY_ROLES
from incidents.audit import Actor, record
from incidents.db import Base, UTCDateTime
from incidents.errors import NotFound, ValidationError
from incidents.org import Person

ROLES = DUTY_ROLES
# Each role as the bureau names it, in Chinese and English.
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "duty_officer": ("值班员", "Duty officer"),
    "duty_leader": ("带班领导", "Leader on duty"),
    "technical_oncall": ("技术值班", "Technical on-call"),
}
PERIODS = ("daily", "weekly")
# The organisation position paged when a roster has nobody on duty.
FALLBACK_POSITION = {
    "duty_officer": "duty_officer",
    # The leader on duty is a bureau leader; with none rostered, the one directly
    # responsible for network security (3(2)).
    "duty_leader": "deputy_director_netsec",
    "technical_oncall": "duty_officer",
}
DEFAULT_ZONE = "Asia/Shanghai"
HOLIDAY_KINDS = ("holiday", "workday")


class Roster(Base):
    __tablename__ = "roster"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RosterRotation(Base):
    """One version of a roster's rotation, in effect from ``effective_from`` until the
    next version's ``effective_from``. Rows are only ever appended."""

    __tablename__ = "roster_rotation"
    __table_args__ = (Index("ix_roster_rotation_roster", "roster_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("roster.id"))
    people_json: Mapped[str] = mapped_column(Text)  # ordered person ids
    holiday_people_json: Mapped[str] = mapped_column(Text, default="[]")
    handoffs: Mapped[str] = mapped_column(String(64))  # "08:30" or "08:30,20:30"
    period: Mapped[str] = mapped_column(String(16))
    anchor_date: Mapped[str] = mapped_column(String(10))  # local date the first person starts
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    @property
    def people(self) -> list[int]:
        return [int(i) for i in json.loads(self.people_json)]

    @property
    def holiday_people(self) -> list[int]:
        return [int(i) for i in json.loads(self.holiday_people_json or "[]")]

    @property
    def handoff_times(self) -> list[time]:
        return [time.fromisoformat(h) for h in self.handoffs.split(",")]


class RosterOverride(Base):
    """``person_id`` is on duty over ``[starts_at, ends_at)``, instead of
    ``replaces_id`` (or of whoever the rotation names, when ``replaces_id`` is null).
    A swap is two overrides sharing ``swap_key``."""

    __tablename__ = "roster_override"
    __table_args__ = (Index("ix_roster_override_span", "roster_id", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("roster.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16), default="override")
    swap_key: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class HolidayDay(Base):
    __tablename__ = "holiday_day"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO local date
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday (调休)
    name: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(32))  # chinese-calendar | admin


class HolidayYear(Base):
    __tablename__ = "holiday_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    seeded_from: Mapped[str] = mapped_column(String(32), default="")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Shift:
    """One shift of a roster: ``[starts_at, ends_at)`` in UTC, who holds it and why."""

    role: str
    starts_at: datetime
    ends_at: datetime
    person_id: int | None
    scheduled_id: int | None  # whom the rotation names, before overrides
    holiday: bool
    override_id: int | None

    def to_dict(self) -> dict[str, object]:
        return {
            "role": self.role,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "person_id": self.person_id,
            "scheduled_id": self.scheduled_id,
            "holiday": self.holiday,
            "override_id": self.override_id,
        }


def roster_for(session: Session, role: str) -> Roster | None:
    return session.scalars(select(Roster).where(Roster.role == role)).first()


def rotation_at(session: Session, roster_id: int, at: datetime) -> RosterRotation | None:
    """The rotation version in effect at ``at``."""
    return session.scalars(
        select(RosterRotation)
        .where(RosterRotation.roster_id == roster_id, RosterRotation.effective_from <= at)
        .order_by(RosterRotation.effective_from.desc(), RosterRotation.id.desc())
        .limit(1)
    ).first()


def holiday_kind(session: Session, day: date) -> str | None:
    row = session.get(HolidayDay, day.isoformat())
    return row.kind if row is not None else None


def _slot(rotation: RosterRotation, zone: ZoneInfo, at: datetime) -> tuple[datetime, datetime, int]:
    """The local shift containing ``at``: its start, its end, and its index counted from
    the rotation's anchor (negative before the anchor)."""
    local = at.astimezone(zone)
    times = sorted(rotation.handoff_times)
    starts: list[datetime] = []
    for offset in (-1, 0, 1):
        d = local.date() + timedelta(days=offset)
        starts.extend(datetime.combine(d, t, tzinfo=zone) for t in times)
    starts.sort()
    current = max(s for s in starts if s <= local)
    following = min(s for s in starts if s > current)
    anchor = date.fromisoformat(rotation.anchor_date)
    days = (current.date() - anchor).days
    shift_of_day = times.index(current.timetz().replace(tzinfo=None))
    if rotation.period == "weekly":
        index = (days // 7) * len(times) + shift_of_day
    else:
        index = days * len(times) + shift_of_day
    if days < 0:
        index = -1
    return current.astimezone(UTC), following.astimezone(UTC), index


class _Plan:
    """A roster's rotations, overrides and holidays over ``[start, end)``, read once; the
    shifts then come from memory — three queries for a month of shifts, not several per
    shift (the calendar, the dashboard's gaps and the iCal feed read months at a time)."""

    def __init__(self, session: Session, roster: Roster, start: datetime, end: datetime) -> None:
        self.roster = roster
        self.zone = ZoneInfo(roster.timezone)
        self.rotations = list(
            session.scalars(
                select(RosterRotation)
                .where(RosterRotation.roster_id == roster.id, RosterRotation.effective_from < end)
                .order_by(RosterRotation.effective_from, RosterRotation.id)
            )
        )
        # Newest recorded first: the newest applicable override wins.
        self.overrides = list(
            session.scalars(
                select(RosterOverride)
                .where(
                    RosterOverride.roster_id == roster.id,
                    RosterOverride.starts_at < end,
                    RosterOverride.ends_at > start,
                )
                .order_by(RosterOverride.recorded_at.desc(), RosterOverride.id.desc())
            )
        )
        # A shift starts at most a day before the moment asked about.
        low = (start.astimezone(self.zone).date() - timedelta(days=2)).isoformat()
        high = (end.astimezone(self.zone).date() + timedelta(days=2)).isoformat()
        self.holidays: dict[str, str] = {
            day: kind
            for day, kind in session.execute(
                select(HolidayDay.day, HolidayDay.kind).where(
                    HolidayDay.day >= low, HolidayDay.day <= high
                )
            )
        }

    def rotation_at(self, at: datetime) -> RosterRotation | None:
        found = None
        for rotation in self.rotations:  # by effective_from, then id: the last one wins
            if rotation.effective_from <= at:
                found = rotation
        return found

    def next_rotation(self, at: datetime) -> datetime | None:
        return next((r.effective_from for r in self.rotations if r.effective_from > at), None)

    def slots(self, start: datetime, end: datetime) -> list[Shift]:
        """The rotation's own shifts (no overrides) meeting ``[start, end)``, in order;
        a span without a rotation is skipped to the next version's start."""
        out: list[Shift] = []
        at = start
        while at < end:
            base = self.scheduled(at)
            if base is None:
                nxt = self.next_rotation(at)
                if nxt is None or nxt >= end:
                    break
                at = nxt
                continue
            out.append(base)
            at = base.ends_at
        return out

    def scheduled(self, at: datetime) -> Shift | None:
        rotation = self.rotation_at(at)
        if rotation is None:
            return None
        starts, ends, index = _slot(rotation, self.zone, at)
        holiday = self.holidays.get(starts.astimezone(self.zone).date().isoformat()) == "holiday"
        people = rotation.holiday_people if holiday and rotation.holiday_people else rotation.people
        person = people[index % len(people)] if index >= 0 and people else None
        return Shift(self.roster.role, starts, ends, person, person, holiday, None)

    def active(self, at: datetime) -> list[RosterOverride]:
        return [
            o
            for o in self.overrides
            if o.starts_at <= at < o.ends_at
            and o.recorded_at <= at
            and (o.revoked_at is None or o.revoked_at > at)
        ]

    def shift_at(self, at: datetime) -> Shift | None:
        base = self.scheduled(at)
        scheduled = base.person_id if base is not None else None
        for override in self.active(at):
            if override.replaces_id is not None and override.replaces_id != scheduled:
                continue
            return Shift(
                self.roster.role,
                override.starts_at,
                override.ends_at,
                override.person_id,
                scheduled,
                base.holiday if base is not None else False,
                override.id,
            )
        return base


_INSTANT = timedelta(microseconds=1)


def scheduled_between(session: Session, role: str, start: datetime, end: datetime) -> list[Shift]:
    """The rotation's own shifts of ``role`` (no overrides) meeting ``[start, end)``, one
    per slot, in order — where the day's handoffs fall; empty without a roster."""
    roster = roster_for(session, role)
    if roster is None:
        return []
    return _Plan(session, roster, start, end).slots(start, end)


def shift_at(session: Session, role: str, at: datetime) -> Shift | None:
    """Who holds ``role``'s duty at ``at``, overrides applied; ``None`` without a roster.

    An override naming ``replaces_id`` applies only when that person is the one on duty
    (a "replace X" for a span X does not hold adds nobody); the newest applicable one
    wins.
    """
    roster = roster_for(session, role)
    if roster is None:
        return None
    return _Plan(session, roster, at, at + _INSTANT).shift_at(at)


def on_duty(session: Session, role: str, at: datetime) -> Person | None:
    """The active person on duty for ``role`` at ``at``, or ``None``."""
    shift = shift_at(session, role, at)
    if shift is None or shift.person_id is None:
        return None
    person = session.get(Person, shift.person_id)
    return person if person is not None and person.active else None


def shifts_between(session: Session, role: str, start: datetime, end: datetime) -> list[Shift]:
    """The resolved shifts of ``role`` over ``[start, end)``, split where overrides begin
    and end (each piece is the answer for its whole span)."""
    roster = roster_for(session, role)
    if roster is None:
        return []
    plan = _Plan(session, roster, start, end)
    cuts: set[datetime] = {start, *(slot.ends_at for slot in plan.slots(start, end))}
    for o in plan.overrides:
        for moment in (o.starts_at, o.ends_at, o.recorded_at, o.revoked_at):
            if moment is not None and start < moment < end:
                cuts.add(moment)
    for rotation in plan.rotations:
        if start < rotation.effective_from < end:
            cuts.add(rotation.effective_from)
    points = [*sorted(c for c in cuts if c < end), end]
    out: list[Shift] = []
    for a, b in itertools.pairwise(points):
        if a >= b:
            continue
        shift = plan.shift_at(a)
        person = shift.person_id if shift is not None else None
        piece = Shift(
            role,
            a,
            b,
            person,
            shift.scheduled_id if shift is not None else None,
            shift.holiday if shift is not None else False,
            shift.override_id if shift is not None else None,
        )
        if (
            out
            and out[-1].person_id == piece.person_id
            and out[-1].ends_at == a
            and (out[-1].override_id == piece.override_id)
        ):
            prev = out.pop()
            piece = Shift(
                role, prev.starts_at, b, person, prev.scheduled_id, prev.holiday, prev.override_id
            )
        out.append(piece)
    return out


def coverage_gaps(
    session: Session, start: datetime, end: datetime, roles: tuple[str, ...] = ROLES
) -> list[tuple[str, datetime, datetime]]:
    """Spans in ``[start, end)`` where a role that has a roster has nobody on duty."""
    gaps: list[tuple[str, datetime, datetime]] = []
    for role in roles:
        if roster_for(session, role) is None:
            continue
        cursor = start
        for shift in shifts_between(session, role, start, end):
            if shift.starts_at > cursor:
                gaps.append((role, cursor, shift.starts_at))
            if shift.person_id is None:
                gaps.append((role, shift.starts_at, shift.ends_at))
            cursor = max(cursor, shift.ends_at)
        if cursor < end:
            gaps.append((role, cursor, end))
    merged: list[tuple[str, datetime, datetime]] = []
    for gap in gaps:
        if merged and merged[-1][0] == gap[0] and merged[-1][2] >= gap[1]:
            merged[-1] = (gap[0], merged[-1][1], max(merged[-1][2], gap[2]))
        else:
            merged.append(gap)
    return merged


def holiday_warning(session: Session, now: datetime, zone: str = DEFAULT_ZONE) -> int | None:
    """The year whose holiday arrangement still needs confirming, or ``None``: from
    November, next year; all year, the current year if it is unconfirmed."""
    local = now.astimezone(ZoneInfo(zone)).date()
    years = [local.year] + ([local.year + 1] if local.month >= 11 else [])
    for year in years:
        row = session.get(HolidayYear, year)
        if row is None or not row.confirmed:
            return year
    return None


# --------------------------------------------------------------------------- changing


def _person(session: Session, person_id: int, field: str) -> Person:
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise ValidationError(
            "unknown or inactive person %(id)s",
            field=field,
            code="person.unknown",
            params={"id": person_id},
        )
    return person


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(
            "must be one of %(choices)s, got %(value)r",
            field="role",
            code="choice",
            params={"choices": ", ".join(ROLES), "value": role},
        )
    return role


def ensure_roster(
    session: Session,
    role: str,
    *,
    actor: Actor,
    now: datetime,
    name: str = "",
    timezone: str = DEFAULT_ZONE,
) -> Roster:
    """The roster of ``role``, created (and audited) if there is none."""
    roster = roster_for(session, _role(role))
    if roster is not None:
        return roster
    try:
        ZoneInfo(timezone)
    except (ValueError, OSError, KeyError):
        raise ValidationError(
            "unknown time zone %(zone)r",
            field="timezone",
            code="timezone.unknown",
            params={"zone": timezone},
        ) from None
    roster = Roster(role=role, name=name or role, timezone=timezone, created_at=now)
    session.add(roster)
    session.flush()
    record(
        session,
        actor=actor,
        kind="roster.created",
        subject_type="roster",
        subject_id=roster.id,
        data={"role": role, "timezone": timezone},
        now=now,
    )
    return roster


def set_rotation(
    session: Session,
    role: str,
    *,
    people: list[int],
    handoffs: list[str],
    period: str,
    anchor_date: date,
    actor: Actor,
    now: datetime,
    effective_from: datetime | None = None,
    holiday_people: list[int] | None = None,
) -> RosterRotation:
    """Append a rotation version, effective from ``effective_from`` (not before ``now``:
    the past is never rewritten)."""
    roster = ensure_roster(session, role, actor=actor, now=now)
    if not people:
        raise ValidationError("must name at least one person", field="people", code="required")
    for i, pid in enumerate(people):
        _person(session, pid, f"people[{i}]")
    for i, pid in enumerate(holiday_people or []):
        _person(session, pid, f"holiday_people[{i}]")
    if period not in PERIODS:
        raise ValidationError(
            "must be one of %(choices)s, got %(value)r",
            field="period",
            code="choice",
            params={"choices": ", ".join(PERIODS), "value": period},
        )
    parsed: list[time] = []
    for i, h in enumerate(handoffs):
        try:
            t = time.fromisoformat(h)
        except ValueError:
            raise ValidationError(
                "must be HH:MM, got %(value)r",
                field=f"handoffs[{i}]",
                code="time",
                params={"value": h},
            ) from None
        if t in parsed:
            raise ValidationError(
                "%(value)s is listed twice",
                field=f"handoffs[{i}]",
                code="duplicate",
                params={"value": h},
            )
        parsed.append(t.replace(second=0, microsecond=0))
    if not parsed:
        raise ValidationError(
            "must name at least one handoff time", field="handoffs", code="required"
        )
    start = max(effective_from or now, now)
    rotation = RosterRotation(
        roster_id=roster.id,
        people_json=json.dumps(people),
        holiday_people_json=json.dumps(holiday_people or []),
        handoffs=",".join(t.strftime("%H:%M") for t in sorted(parsed)),
        period=period,
        anchor_date=anchor_date.isoformat(),
        effective_from=start,
        recorded_at=now,
        recorded_by_id=actor.person_id,
    )
    session.add(rotation)
    session.flush()
    record(
        session,
        actor=actor,
        kind="roster.rotation",
        subject_type="roster",
        subject_id=roster.id,
        data={
            "role": role,
            "people": people,
            "holiday_people": holiday_people or [],
            "handoffs": rotation.handoffs,
            "period": period,
            "anchor_date": rotation.anchor_date,
            "effective_from": start.isoformat(),
        },
        now=now,
    )
    return rotation


def add_override(
    session: Session,
    role: str,
    *,
    person_id: int,
    starts_at: datetime,
    ends_at: datetime,
    actor: Actor,
    now: datetime,
    replaces_id: int | None = None,
    reason: str = "",
    kind: str = "override",
    swap_key: str = "",
) -> RosterOverride:
    """Record that ``person_id`` covers ``[starts_at, ends_at)``; audited. It counts
    only from ``now`` on: a past moment keeps the answer it had."""
    roster = roster_for(session, _role(role))
    if roster is None:
        raise NotFound(
            "no roster for %(role)s", field="role", code="roster.none", params={"role": role}
        )
    _person(session, person_id, "person_id")
    if replaces_id is not None:
        _person(session, replaces_id, "replaces_id")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationError("must carry a time zone", field="starts_at", code="timezone.missing")
    if ends_at <= starts_at:
        raise ValidationError(
            "must be after the start", field="ends_at", code="ends_at.before_start"
        )
    override = RosterOverride(
        roster_id=roster.id,
        person_id=person_id,
        replaces_id=replaces_id,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        kind=kind,
        swap_key=swap_key,
        reason=reason,
        recorded_at=now,
        recorded_by_id=actor.person_id,
    )
    session.add(override)
    session.flush()
    record(
        session,
        actor=actor,
        kind=f"roster.{kind}",
        subject_type="roster_override",
        subject_id=override.id,
        data={
            "role": role,
            "person_id": person_id,
            "replaces_id": replaces_id,
            "starts_at": override.starts_at.isoformat(),
            "ends_at": override.ends_at.isoformat(),
            "reason": reason,
            "swap_key": swap_key,
        },
        now=now,
    )
    return override


def swap(
    session: Session,
    role: str,
    *,
    first: datetime,
    second: datetime,
    actor: Actor,
    now: datetime,
    reason: str = "",
) -> tuple[RosterOverride, RosterOverride]:
    """The people of the shifts containing ``first`` and ``second`` exchange them."""
    a = shift_at(session, role, first)
    b = shift_at(session, role, second)
    if a is None or a.person_id is None:
        raise ValidationError("nobody is on duty then", field="first", code="roster.nobody")
    if b is None or b.person_id is None:
        raise ValidationError("nobody is on duty then", field="second", code="roster.nobody")
    if a.person_id == b.person_id:
        raise ValidationError(
            "the same person holds both shifts", field="second", code="swap.same_person"
        )
    # The two halves share a key: a digest fits the column on every engine (the plain
    # text — role and three timestamps — is longer than its 64 characters).
    plain = f"{role}:{a.starts_at.isoformat()}:{b.starts_at.isoformat()}:{now.isoformat()}"
    key = hashlib.sha256(plain.encode()).hexdigest()
    one = add_override(
        session,
        role,
        person_id=b.person_id,
        replaces_id=a.person_id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        actor=actor,
        now=now,
        reason=reason,
        kind="swap",
        swap_key=key,
    )
    two = add_override(
        session,
        role,
        person_id=a.person_id,
        replaces_id=b.person_id,
        starts_at=b.starts_at,
        ends_at=b.ends_at,
        actor=actor,
        now=now,
        reason=reason,
        kind="swap",
        swap_key=key,
    )
    return one, two


def revoke_override(
    session: Session, override_id: int, *, actor: Actor, now: datetime
) -> RosterOverride:
    """End an override from ``now`` (both halves of a swap); earlier moments keep it."""
    override = session.get(RosterOverride, override_id)
    if override is None:
        raise NotFound(
            "no override %(id)s", field="id", code="not_found", params={"id": override_id}
        )
    group = [override]
    if override.swap_key:
        group = list(
            session.scalars(
                select(RosterOverride).where(RosterOverride.swap_key == override.swap_key)
            )
        )
    for o in group:
        if o.revoked_at is None:
            o.revoked_at = now
            o.revoked_by_id = actor.person_id
            record(
                session,
                actor=actor,
                kind="roster.override_revoked",
                subject_type="roster_override",
                subject_id=o.id,
                data={"id": o.id},
                now=now,
            )
    session.flush()
    return override


def seed_holidays(session: Session, year: int, *, actor: Actor, now: datetime) -> int:
    """Fill ``year`` from chinese-calendar (holidays and 调休 workdays); return the
    number of days seeded (0 when the library does not know the year). Days an admin
    set are kept."""
    import chinese_calendar  # type: ignore[import-untyped]

    try:
        chinese_calendar.is_holiday(date(year, 1, 1))
    except NotImplementedError:
        known = False
    else:
        known = True
    row = session.get(HolidayYear, year)
    if row is None:
        row = HolidayYear(year=year, seeded_from="", confirmed=False)
        session.add(row)
    if not known:
        session.flush()
        return 0
    count = 0
    for table, kind in (
        (chinese_calendar.holidays, "holiday"),
        (chinese_calendar.workdays, "workday"),
    ):
        for day, name in table.items():
            if day.year != year:
                continue
            if kind == "workday" and day.weekday() < 5:
                continue  # an ordinary weekday, not a 调休 make-up day
            existing = session.get(HolidayDay, day.isoformat())
            if existing is not None:
                continue
            label = getattr(name, "value", None) or str(name)
            if kind == "holiday" and not isinstance(label, str):
                label = ""
            session.add(
                HolidayDay(
                    day=day.isoformat(), kind=kind, name=str(label or ""), source="chinese-calendar"
                )
            )
            count += 1
    row.seeded_from = "chinese-calendar"
    session.flush()
    record(
        session,
        actor=actor,
        kind="holiday.seeded",
        subject_type="holiday_year",
        subject_id=year,
        data={"year": year, "days": count},
        now=now,
    )
    return count


def set_holiday(
    session: Session, day: date, kind: str | None, *, actor: Actor, now: datetime, name: str = ""
) -> None:
    """Mark ``day`` a holiday or a 调休 workday, or clear it (``kind=None``); audited."""
    if kind is not None and kind not in HOLIDAY_KINDS:
        raise ValidationError(
            "must be one of %(choices)s",
            field="kind",
            code="choice",
            params={"choices": ", ".join(HOLIDAY_KINDS)},
        )
    row = session.get(HolidayDay, day.isoformat())
    before = row.kind if row is not None else None
    if kind is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(HolidayDay(day=day.isoformat(), kind=kind, name=name, source="admin"))
    else:
        row.kind, row.name, row.source = kind, name or row.name, "admin"
    if session.get(HolidayYear, day.year) is None:
        session.add(HolidayYear(year=day.year, seeded_from="", confirmed=False))
    session.flush()
    record(
        session,
        actor=actor,
        kind="holiday.set",
        subject_type="holiday_year",
        subject_id=day.year,
        data={"day": day.isoformat(), "before": before, "after": kind},
        now=now,
    )


def confirm_year(session: Session, year: int, *, actor: Actor, now: datetime) -> HolidayYear:
    """An admin confirms ``year``'s arrangement as published by the State Council."""
    row = session.get(HolidayYear, year)
    if row is None:
        row = HolidayYear(year=year, seeded_from="", confirmed=False)
        session.add(row)
    row.confirmed, row.confirmed_at, row.confirmed_by_id = True, now, actor.person_id
    session.flush()
    record(
        session,
        actor=actor,
        kind="holiday.confirmed",
        subject_type="holiday_year",
        subject_id=year,
        data={"year": year},
        now=now,
    )
    return row
