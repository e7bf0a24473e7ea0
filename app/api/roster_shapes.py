"""The shapes of the roster API (``app.api.rosters``): the field types, the request and
response models the OpenAPI document is generated from, and the functions that render the
domain's rows (``incidents.rosters``) as those models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.contract import Body, DateTimeIn, Id, Out, Query, enum_of, one_of
from incidents import rosters
from incidents.errors import ValidationError
from incidents.org import Person

YEARS = (2000, 2100)

Role = Annotated[
    str,
    one_of(rosters.ROLES),
    enum_of(rosters.ROLES, "duty_officer 值班员, duty_leader 带班领导, technical_oncall 技术值班"),
]
Period = Annotated[str, one_of(rosters.PERIODS), enum_of(rosters.PERIODS)]
HolidayKind = Annotated[
    str,
    one_of(rosters.HOLIDAY_KINDS),
    enum_of(rosters.HOLIDAY_KINDS, "holiday 节假日, workday 调休上班日"),
]
Reason = Annotated[str, StringConstraints(max_length=2000)]


def _date(value: object) -> object:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                "must be a date as YYYY-MM-DD, got %(value)r",
                code="invalid.date",
                params={"value": value},
            ) from None
    return value


def _bounded(value: datetime) -> datetime:
    """A moment of the years a roster plans (``YEARS``): far dates would overflow the
    zone arithmetic of the shifts, and mean a typing mistake anyway."""
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValidationError(
            "must be a moment from %(low)s to %(high)s",
            code="invalid.year",
            params={"low": YEARS[0], "high": YEARS[1]},
        )
    return value


Moment = Annotated[DateTimeIn, AfterValidator(_bounded)]
DateIn = Annotated[
    date, BeforeValidator(_date), WithJsonSchema({"type": "string", "format": "date"})
]
HandoffTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}),
]


# --------------------------------------------------------------------------- shapes


class DutyPerson(Out):
    id: int
    login: str
    name: str


class ShiftOut(Out):
    role: Role
    starts_at: datetime
    ends_at: datetime
    person: DutyPerson | None = Field(description="who holds the shift (null: nobody)")
    scheduled_id: int | None = Field(description="whom the rotation names, before overrides")
    holiday: bool = Field(description="the shift starts on a public holiday")
    override_id: int | None = Field(description="the override that put the person there")


class RotationOut(Out):
    id: int
    people: list[int] = Field(description="person ids, in rotation order")
    holiday_people: list[int]
    handoffs: list[str] = Field(description="handoff times of day in the roster's zone")
    period: Period
    anchor_date: str = Field(description="the local date the first person starts")
    effective_from: datetime
    recorded_at: datetime


class RosterOut(Out):
    role: Role
    name: str
    timezone: str
    rotation: RotationOut | None = Field(description="the version in effect now")
    on_duty: ShiftOut | None = Field(description="the shift running now")


class RosterList(Out):
    items: list[RosterOut]


class OnDuty(Out):
    role: Role
    at: datetime
    shift: ShiftOut | None = Field(description="null when the role has no roster")


class ShiftList(Out):
    role: Role
    since: datetime
    until: datetime
    items: list[ShiftOut]


class OverrideOut(Out):
    id: int
    role: Role
    person_id: int
    replaces_id: int | None
    starts_at: datetime
    ends_at: datetime
    kind: str = Field(description="override, swap or import")
    reason: str
    recorded_at: datetime
    revoked_at: datetime | None


class SwapOut(Out):
    items: list[OverrideOut] = Field(description="the two linked overrides")


class HolidayDayOut(Out):
    day: str
    kind: HolidayKind
    name: str
    source: str = Field(description="chinese-calendar or admin")


class HolidayYearOut(Out):
    year: int
    seeded_from: str
    confirmed: bool
    confirmed_at: datetime | None
    days: list[HolidayDayOut]


class ImportOut(Out):
    month: str
    sha256: str = Field(description="of the file as received")
    days: int = Field(description="day rows read")
    overrides: dict[str, int] = Field(description="overrides written, per role")
    revoked: int = Field(description="overrides of an earlier import of the month revoked")
    skipped_past: int = Field(description="days already over, left as they were")
    checked_only: bool


# --------------------------------------------------------------------------- inputs


class OnDutyQuery(Query):
    role: Role
    at: Moment | None = Field(None, description="the moment asked about (default: now)")


class ShiftsQuery(Query):
    role: Role
    since: Moment = Field(description="from this moment")
    until: Moment = Field(description="to this moment (at most 100 days after since)")


class RotationIn(Body):
    role: Role
    people: list[Id] = Field(min_length=1, max_length=100)
    holiday_people: list[Id] = Field(default_factory=list, max_length=100)
    handoffs: list[HandoffTime] = Field(
        min_length=1, max_length=4, description='["08:30"] for 24 hours, two for day and night'
    )
    period: Period
    anchor_date: DateIn = Field(description="the local date the first person starts")
    effective_from: Moment | None = Field(
        None, description="not before now (the past is never rewritten); default now"
    )


class OverrideIn(Body):
    role: Role
    person_id: Id
    starts_at: Moment
    ends_at: Moment
    replaces_id: Id | None = Field(None, description="applies only while this person is on duty")
    reason: Reason = ""


class SwapIn(Body):
    role: Role
    first: Moment = Field(description="a moment of the first shift")
    second: Moment = Field(description="a moment of the second shift")
    reason: Reason = ""


class HolidayDayIn(Body):
    day: DateIn
    kind: HolidayKind
    name: Annotated[str, StringConstraints(max_length=100)] = ""


class HolidaysIn(Body):
    days: list[HolidayDayIn] = Field(max_length=400)


IMPORT_FORM: dict[str, Any] = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "the month's roster, xlsx or CSV (layout: docs/roster.md)",
                },
                "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                "check": {
                    "type": "string",
                    "enum": ["true", "false"],
                    "description": "true: only check the file, write nothing",
                },
            },
            "required": ["file", "month"],
            "additionalProperties": False,
        }
    }
}


# --------------------------------------------------------------------------- rendering


def people_out(session: Session, ids: set[int | None]) -> dict[int, DutyPerson]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(Person).where(Person.id.in_(wanted)))
    return {p.id: DutyPerson(id=p.id, login=p.login, name=p.name) for p in rows}


def shifts_out(session: Session, shifts: list[rosters.Shift]) -> list[ShiftOut]:
    people = people_out(session, {s.person_id for s in shifts})
    return [
        ShiftOut(
            role=s.role,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            person=people.get(s.person_id) if s.person_id is not None else None,
            scheduled_id=s.scheduled_id,
            holiday=s.holiday,
            override_id=s.override_id,
        )
        for s in shifts
    ]


def rotation_out(row: rosters.RosterRotation | None) -> RotationOut | None:
    if row is None:
        return None
    return RotationOut(
        id=row.id,
        people=row.people,
        holiday_people=row.holiday_people,
        handoffs=row.handoffs.split(","),
        period=row.period,
        anchor_date=row.anchor_date,
        effective_from=row.effective_from,
        recorded_at=row.recorded_at,
    )


def override_out(session: Session, row: rosters.RosterOverride) -> OverrideOut:
    roster = session.get(rosters.Roster, row.roster_id)
    assert roster is not None
    return OverrideOut(
        id=row.id,
        role=roster.role,
        person_id=row.person_id,
        replaces_id=row.replaces_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        kind=row.kind,
        reason=row.reason,
        recorded_at=row.recorded_at,
        revoked_at=row.revoked_at,
    )


def year_out(session: Session, year: int) -> HolidayYearOut:
    row = session.get(rosters.HolidayYear, year)
    days = session.scalars(
        select(rosters.HolidayDay)
        .where(
            rosters.HolidayDay.day >= f"{year:04d}-01-01",
            rosters.HolidayDay.day <= f"{year:04d}-12-31",
        )
        .order_by(rosters.HolidayDay.day)
    )
    return HolidayYearOut(
        year=year,
        seeded_from=row.seeded_from if row is not None else "",
        confirmed=bool(row is not None and row.confirmed),
        confirmed_at=row.confirmed_at if row is not None else None,
        days=[HolidayDayOut(day=d.day, kind=d.kind, name=d.name, source=d.source) for d in days],
    )
