"""Duty rosters (值班表) over the API: who is on duty, the rotation, overrides and swaps, the
holiday table, and the import of an office's monthly file.

Every route is declared through ``app.api.contract``, so its body, query and answer are in
the OpenAPI document. Anyone with a token reads; changing a roster or the holiday table is
for the people who keep them (``Capabilities.can_manage_rosters``: administrators, the
command center head, the deputy director in charge of network security). Each write is
one use case of ``incidents.rosters`` (or ``incidents.roster_import``) in one unit of
work: audited, and nothing stored when it is refused.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from flask import request
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.auth import actor, caps
from app.api.contract import Body, DateTimeIn, Id, Out, Query, endpoint, enum_of, one_of
from app.api.errors import UnsupportedMediaType
from app.api.unit import unit
from app.extensions import db, now
from incidents import rosters
from incidents.errors import ValidationError
from incidents.org import Person
from incidents.permissions import require
from incidents.roster_import import import_month

TAG = "rosters"
MAX_SPAN = timedelta(days=100)  # shifts asked for at once
YEARS = (2000, 2100)
KEEPERS_ONLY = (401, 403, 422)

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


def _people(session: Session, ids: set[int | None]) -> dict[int, DutyPerson]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(Person).where(Person.id.in_(wanted)))
    return {p.id: DutyPerson(id=p.id, login=p.login, name=p.name) for p in rows}


def _shifts(session: Session, shifts: list[rosters.Shift]) -> list[ShiftOut]:
    people = _people(session, {s.person_id for s in shifts})
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


def _rotation(row: rosters.RosterRotation | None) -> RotationOut | None:
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


def _override(session: Session, row: rosters.RosterOverride) -> OverrideOut:
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


def _year(session: Session, year: int) -> HolidayYearOut:
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


def _check_year(year: int) -> int:
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValidationError(
            "must be a year from %(low)s to %(high)s",
            field="year",
            code="invalid.year",
            params={"low": YEARS[0], "high": YEARS[1]},
        )
    return year


def _require_keeper() -> None:
    require(
        caps().can_manage_rosters,
        "only the command center head and administrators change the duty roster",
    )


# --------------------------------------------------------------------------- reading


@endpoint(
    "get",
    "/rosters",
    operation_id="listRosters",
    summary="The rosters, each with its rotation and the shift running now",
    tag=TAG,
    response=RosterList,
)
def list_rosters() -> RosterList:
    session = db()
    at = now()
    items = []
    for role in rosters.ROLES:
        roster = rosters.roster_for(session, role)
        if roster is None:
            continue
        shift = rosters.shift_at(session, role, at)
        items.append(
            RosterOut(
                role=role,
                name=roster.name,
                timezone=roster.timezone,
                rotation=_rotation(rosters.rotation_at(session, roster.id, at)),
                on_duty=_shifts(session, [shift])[0] if shift is not None else None,
            )
        )
    return RosterList(items=items)


@endpoint(
    "get",
    "/rosters/on-duty",
    operation_id="getOnDuty",
    summary="Who is on duty for a role now, or at any past or future moment",
    tag=TAG,
    response=OnDuty,
    query=OnDutyQuery,
    description="A past moment gets the answer it had then, whatever was edited since.",
)
def on_duty(query: OnDutyQuery) -> OnDuty:
    session = db()
    at = query.at or now()
    shift = rosters.shift_at(session, query.role, at)
    return OnDuty(
        role=query.role,
        at=at,
        shift=_shifts(session, [shift])[0] if shift is not None else None,
    )


@endpoint(
    "get",
    "/rosters/shifts",
    operation_id="listShifts",
    summary="A role's shifts between two moments, overrides applied",
    tag=TAG,
    response=ShiftList,
    query=ShiftsQuery,
)
def list_shifts(query: ShiftsQuery) -> ShiftList:
    if query.until <= query.since:
        raise ValidationError("must be after since", field="until", code="invalid.order")
    if query.until - query.since > MAX_SPAN:
        raise ValidationError(
            "must be at most %(days)s days after since",
            field="until",
            code="invalid.span",
            params={"days": MAX_SPAN.days},
        )
    session = db()
    shifts = rosters.shifts_between(session, query.role, query.since, query.until)
    return ShiftList(
        role=query.role, since=query.since, until=query.until, items=_shifts(session, shifts)
    )


@endpoint(
    "get",
    "/holidays/<int:year>",
    operation_id="getHolidays",
    summary="A year's public holidays and make-up working days (调休), and whether confirmed",
    tag=TAG,
    response=HolidayYearOut,
    errors=(401, 422),
    path_descriptions={"year": "the calendar year"},
)
def get_holidays(year: int) -> HolidayYearOut:
    return _year(db(), _check_year(year))


# --------------------------------------------------------------------------- changing


@endpoint(
    "post",
    "/rosters/rotation",
    operation_id="setRotation",
    summary="Append a rotation version to a role's roster (creating the roster if needed)",
    tag=TAG,
    response=RotationOut,
    status=201,
    body=RotationIn,
    errors=KEEPERS_ONLY,
    description="Effective from `effective_from` (not before now): earlier moments keep the "
    "version they had.",
)
def set_rotation(body: RotationIn) -> RotationOut:
    _require_keeper()
    with unit() as session:
        row = rosters.set_rotation(
            session,
            body.role,
            people=list(body.people),
            holiday_people=list(body.holiday_people),
            handoffs=list(body.handoffs),
            period=body.period,
            anchor_date=body.anchor_date,
            effective_from=body.effective_from,
            actor=actor(),
            now=now(),
        )
        out = _rotation(row)
    assert out is not None
    return out


@endpoint(
    "post",
    "/rosters/overrides",
    operation_id="addOverride",
    summary="A person covers a span of a role's duty",
    tag=TAG,
    response=OverrideOut,
    status=201,
    body=OverrideIn,
    errors=(401, 403, 404, 422),
    description="Counts from now on: a past moment keeps the answer it had. 404 when the "
    "role has no roster yet.",
)
def add_override(body: OverrideIn) -> OverrideOut:
    _require_keeper()
    with unit() as session:
        row = rosters.add_override(
            session,
            body.role,
            person_id=body.person_id,
            replaces_id=body.replaces_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason.strip(),
            actor=actor(),
            now=now(),
        )
        return _override(session, row)


@endpoint(
    "post",
    "/rosters/swaps",
    operation_id="swapShifts",
    summary="The people of two shifts exchange them",
    tag=TAG,
    response=SwapOut,
    status=201,
    body=SwapIn,
    errors=KEEPERS_ONLY,
)
def swap_shifts(body: SwapIn) -> SwapOut:
    _require_keeper()
    with unit() as session:
        one, two = rosters.swap(
            session,
            body.role,
            first=body.first,
            second=body.second,
            reason=body.reason.strip(),
            actor=actor(),
            now=now(),
        )
        return SwapOut(items=[_override(session, one), _override(session, two)])


@endpoint(
    "delete",
    "/rosters/overrides/<int:override_id>",
    operation_id="revokeOverride",
    summary="Revoke an override (both halves of a swap) from now on",
    tag=TAG,
    response=OverrideOut,
    errors=(401, 403, 404),
    description="Revoked, not deleted: earlier moments keep it.",
    path_descriptions={"override_id": "the override's id"},
)
def revoke_override(override_id: int) -> OverrideOut:
    _require_keeper()
    with unit() as session:
        row = rosters.revoke_override(session, override_id, actor=actor(), now=now())
        return _override(session, row)


@endpoint(
    "put",
    "/holidays/<int:year>",
    operation_id="putHolidays",
    summary="Replace a year's holiday table (days not listed are cleared)",
    tag=TAG,
    response=HolidayYearOut,
    body=HolidaysIn,
    errors=KEEPERS_ONLY,
    description="For when the State Council publishes the year's arrangement. Only the days "
    "that change are written, each audited.",
    path_descriptions={"year": "the calendar year"},
)
def put_holidays(year: int, body: HolidaysIn) -> HolidayYearOut:
    _require_keeper()
    _check_year(year)
    wanted: dict[date, HolidayDayIn] = {}
    for i, entry in enumerate(body.days):
        if entry.day.year != year:
            raise ValidationError(
                "must be a day of %(year)s",
                field=f"days[{i}].day",
                code="invalid.year",
                params={"year": year},
            )
        if entry.day in wanted:
            raise ValidationError(
                "%(day)s is listed twice",
                field=f"days[{i}].day",
                code="invalid.duplicate",
                params={"day": entry.day.isoformat()},
            )
        wanted[entry.day] = entry
    with unit() as session:
        current = {d.day: d for d in _year(session, year).days}
        at = now()
        for text in sorted(set(current) - {d.isoformat() for d in wanted}):
            rosters.set_holiday(session, date.fromisoformat(text), None, actor=actor(), now=at)
        for day, entry in sorted(wanted.items()):
            have = current.get(day.isoformat())
            if have is not None and (have.kind, have.name) == (entry.kind, entry.name):
                continue
            rosters.set_holiday(session, day, entry.kind, name=entry.name, actor=actor(), now=at)
        return _year(session, year)


@endpoint(
    "post",
    "/holidays/<int:year>/confirm",
    operation_id="confirmHolidays",
    summary="Confirm a year's holiday arrangement as published",
    tag=TAG,
    response=HolidayYearOut,
    errors=KEEPERS_ONLY,
    description="Ends the dashboard's warning about the year.",
    path_descriptions={"year": "the calendar year"},
)
def confirm_holidays(year: int) -> HolidayYearOut:
    _require_keeper()
    _check_year(year)
    with unit() as session:
        rosters.confirm_year(session, year, actor=actor(), now=now())
        return _year(session, year)


@endpoint(
    "post",
    "/rosters/import",
    operation_id="importRosterMonth",
    summary="Import an office's monthly roster (xlsx or CSV, one row per day)",
    tag=TAG,
    response=ImportOut,
    request_content=IMPORT_FORM,
    errors=(400, 401, 403, 415, 422),
    description="All or nothing: a problem is a 422 whose message names the row and the "
    "column (`params.row`, `params.column`, `params.header`) and nothing is written. The "
    "month is written as overrides of kind `import`; importing the month again replaces "
    "the earlier import.",
)
def import_roster() -> ImportOut:
    _require_keeper()
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            "send the file as multipart/form-data (got %(type)s)",
            field="Content-Type",
            code="unsupported_media_type",
            params={"type": request.mimetype or "no content type"},
        )
    for name in [*request.form, *request.files]:
        if name not in ("file", "month", "check"):
            raise ValidationError("unknown field", field=name, code="unknown_field")
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("is required", field="file", code="required")
    month = request.form.get("month", "")
    if not month:
        raise ValidationError("is required", field="month", code="required")
    check = request.form.get("check", "false")
    if check not in ("true", "false"):
        raise ValidationError("must be true or false", field="check", code="invalid.bool")
    data = upload.read()
    with unit() as session:
        result = import_month(
            session,
            data=data,
            filename=upload.filename or "",
            month=month,
            actor=actor(),
            now=now(),
            dry_run=check == "true",
        )
    return ImportOut(
        month=result.month,
        sha256=result.sha256,
        days=result.days,
        overrides=result.overrides,
        revoked=result.revoked,
        skipped_past=result.skipped_past,
        checked_only=check == "true",
    )
