"""Duty rosters (值班表) over the API: who is on duty, the rotation, overrides and swaps, the
holiday table, and the import of an office's monthly file.

Every route is declared through ``app.api.contract``, so its body, query and answer are in
the OpenAPI document. Anyone with a token reads; changing a roster or the holiday table is
for the people who keep them (``Capabilities.can_manage_rosters``: administrators, the
command center head, the deputy director in charge of network security). Each write is
one use case of ``incidents.rosters`` (or ``incidents.roster_import``) in one unit of
work: audited, and nothing stored when it is refused. The models and how a row becomes
one are in ``app.api.roster_shapes``.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import request

from app.api.auth import actor, caps
from app.api.contract import endpoint
from app.api.errors import UnsupportedMediaType
from app.api.roster_shapes import (
    IMPORT_FORM,
    YEARS,
    HolidayDayIn,
    HolidaysIn,
    HolidayYearOut,
    ImportOut,
    OnDuty,
    OnDutyQuery,
    OverrideIn,
    OverrideOut,
    RosterList,
    RosterOut,
    RotationIn,
    RotationOut,
    ShiftList,
    ShiftsQuery,
    SwapIn,
    SwapOut,
    override_out,
    rotation_out,
    shifts_out,
    year_out,
)
from app.api.unit import unit
from app.extensions import db, now
from incidents import rosters
from incidents.errors import ValidationError
from incidents.permissions import require
from incidents.roster_import import import_month

TAG = "rosters"
MAX_SPAN = timedelta(days=100)  # shifts asked for at once
KEEPERS_ONLY = (401, 403, 422)


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
                rotation=rotation_out(rosters.rotation_at(session, roster.id, at)),
                on_duty=shifts_out(session, [shift])[0] if shift is not None else None,
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
        shift=shifts_out(session, [shift])[0] if shift is not None else None,
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
        role=query.role, since=query.since, until=query.until, items=shifts_out(session, shifts)
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
    return year_out(db(), _check_year(year))


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
        out = rotation_out(row)
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
        return override_out(session, row)


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
        return SwapOut(items=[override_out(session, one), override_out(session, two)])


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
        return override_out(session, row)


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
        current = {d.day: d for d in year_out(session, year).days}
        at = now()
        for text in sorted(set(current) - {d.isoformat() for d in wanted}):
            rosters.set_holiday(session, date.fromisoformat(text), None, actor=actor(), now=at)
        for day, entry in sorted(wanted.items()):
            have = current.get(day.isoformat())
            if have is not None and (have.kind, have.name) == (entry.kind, entry.name):
                continue
            rosters.set_holiday(session, day, entry.kind, name=entry.name, actor=actor(), now=at)
        return year_out(session, year)


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
        return year_out(session, year)


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
