"""The duty roster (值班表) pages: a month calendar of who is on duty, and the holiday table.

``/rosters`` shows every duty role (duty officer, leader on duty 带班领导, technical
on-call) for a month; ``/rosters/<role>`` one role, with its rotation, its overrides and,
for the people who keep the roster (``Capabilities.can_manage_rosters``), the forms that
change them (``app.web.roster_forms``); ``/rosters/holidays`` the public holidays and
make-up working days (调休) of a year and whether the year is confirmed.

The calendar itself is built by ``app.web.roster_calendar``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db, now, services
from app.web import bp
from app.web.roster_calendar import (
    holidays_between,
    month_key,
    month_weeks,
    parse_month,
    person_names,
    shift_month,
)
from app.web.templating import pick
from app.web.translate import _
from app.web.viewer import caps
from incidents import rosters
from incidents.errors import ValidationError
from incidents.org import Person

# The short label a calendar cell gives each duty role (the full names: rosters.ROLE_NAMES).
ROLE_SHORT: dict[str, tuple[str, str]] = {
    "duty_officer": ("值班", "Duty"),
    "duty_leader": ("带班", "Leader"),
    "technical_oncall": ("技术", "Tech"),
}
# The names chinese-calendar gives the holidays it seeds; a name typed by an admin shows
# as it was typed.
HOLIDAY_NAMES: dict[str, tuple[str, str]] = {
    "New Year's Day": ("元旦", "New Year's Day"),
    "Spring Festival": ("春节", "Spring Festival"),
    "Tomb-sweeping Day": ("清明节", "Tomb-sweeping Day"),
    "Labour Day": ("劳动节", "Labour Day"),
    "Dragon Boat Festival": ("端午节", "Dragon Boat Festival"),
    "National Day": ("国庆节", "National Day"),
    "Mid-autumn Festival": ("中秋节", "Mid-autumn Festival"),
    "Anti-Fascist 70th Day": ("抗战胜利70周年纪念日", "Anti-Fascist 70th Day"),
}
WEEKDAYS: tuple[tuple[str, str], ...] = (
    ("一", "Mon"),
    ("二", "Tue"),
    ("三", "Wed"),
    ("四", "Thu"),
    ("五", "Fri"),
    ("六", "Sat"),
    ("日", "Sun"),
)


def role_name(role: str) -> str:
    return pick(rosters.ROLE_NAMES.get(role), role)


def role_short(role: str) -> str:
    return pick(ROLE_SHORT.get(role), role)


def holiday_name(name: str) -> str:
    return pick(HOLIDAY_NAMES.get(name), name)


@bp.record_once
def _globals(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals.update(
        roster_role_name=role_name, roster_role_short=role_short, holiday_name=holiday_name
    )


def _zone() -> ZoneInfo:
    return services().policy.tz


def _today() -> date:
    return now().astimezone(_zone()).date()


def _calendar_context(roles: tuple[str, ...]) -> dict[str, Any]:
    today = _today()
    first = parse_month(request.args.get("month"), today)
    return {
        "roles": roles,
        "month": first,
        "month_key": month_key(first),
        "prev_month": month_key(shift_month(first, -1)),
        "next_month": month_key(shift_month(first, 1)),
        "this_month": month_key(today.replace(day=1)),
        "weeks": month_weeks(db(), first, roles, _zone(), today),
        "weekdays": [pick(w) for w in WEEKDAYS],
        "can_edit": caps().can_manage_rosters,
    }


def render_overview(
    *,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The calendar of every role, with the import form (refused: its message beside it)."""
    context = _calendar_context(rosters.ROLES)
    return (
        render_template(
            "rosters/overview.html",
            errors=errors or {},
            values=values or {},
            import_month=month_key(shift_month(context["month"], 1))
            if context["month_key"] == context["this_month"]
            else context["month_key"],
            **context,
        ),
        status,
    )


@bp.get("/rosters")
@login_required
def rosters_overview() -> tuple[str, int]:
    return render_overview()


def known_role(role: str) -> str:
    if role not in rosters.ROLES:
        abort(404)
    return role


def active_people(session: Session) -> list[Person]:
    return list(
        session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.name))
    )


def role_context(role: str) -> dict[str, Any]:
    """What the page of one role shows besides its calendar: the rotation in effect and
    the ones planned, the overrides still to come or running, and the people to choose."""
    session = db()
    at = now()
    roster = rosters.roster_for(session, role)
    current = rosters.rotation_at(session, roster.id, at) if roster is not None else None
    planned: list[rosters.RosterRotation] = []
    overrides: list[rosters.RosterOverride] = []
    if roster is not None:
        planned = list(
            session.scalars(
                select(rosters.RosterRotation)
                .where(
                    rosters.RosterRotation.roster_id == roster.id,
                    rosters.RosterRotation.effective_from > at,
                )
                .order_by(rosters.RosterRotation.effective_from)
            )
        )
        overrides = list(
            session.scalars(
                select(rosters.RosterOverride)
                .where(
                    rosters.RosterOverride.roster_id == roster.id,
                    rosters.RosterOverride.revoked_at.is_(None),
                    rosters.RosterOverride.ends_at > at,
                )
                .order_by(rosters.RosterOverride.starts_at, rosters.RosterOverride.id)
            )
        )
    people = active_people(session)
    ids = {
        pid for r in [current, *planned] if r is not None for pid in (*r.people, *r.holiday_people)
    } | {pid for o in overrides for pid in (o.person_id, o.replaces_id) if pid is not None}
    names = {p.id: p.name for p in people} | person_names(session, ids)
    on_duty = rosters.shift_at(session, role, at)
    return {
        "role": role,
        "roster": roster,
        "rotation": current,
        "planned": planned,
        "overrides": overrides,
        "people": people,
        "names": names,
        "now_shift": on_duty,
        "today_iso": _today().isoformat(),
    }


def render_role(
    role: str,
    *,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The page of one role; ``errors`` and ``values`` are per form (rotation, override,
    swap), so a refused form comes back filled in with the message beside its field."""
    context = _calendar_context((role,)) | role_context(role)
    return (
        render_template(
            "rosters/role.html",
            errors=errors or {},
            values=values or {},
            **context,
        ),
        status,
    )


@bp.get("/rosters/<role>")
@login_required
def roster(role: str) -> tuple[str, int]:
    return render_role(known_role(role))


# --- the holiday table ------------------------------------------------------------------


def parse_year(text: str | None, default: int) -> int:
    if not text:
        return default
    try:
        year = int(text)
    except ValueError:
        raise ValidationError(_("Enter a year, for example 2027."), field="year") from None
    if not 2000 <= year <= 2100:
        raise ValidationError(_("Enter a year between 2000 and 2100."), field="year")
    return year


def render_holidays(
    year: int,
    *,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = db()
    days = sorted(
        holidays_between(session, date(year, 1, 1), date(year, 12, 31)).values(),
        key=lambda r: r.day,
    )
    state = session.get(rosters.HolidayYear, year)
    confirmer = (
        session.get(Person, state.confirmed_by_id)
        if state is not None and state.confirmed_by_id is not None
        else None
    )
    return (
        render_template(
            "rosters/holidays.html",
            year=year,
            days=[(date.fromisoformat(r.day), r) for r in days],
            state=state,
            confirmer=confirmer,
            warning=rosters.holiday_warning(session, now(), services().policy.timezone),
            weekdays=[pick(w) for w in WEEKDAYS],
            can_edit=caps().can_manage_rosters,
            errors=errors or {},
            values=values or {},
        ),
        status,
    )


@bp.get("/rosters/holidays")
@login_required
def roster_holidays() -> tuple[str, int]:
    return render_holidays(parse_year(request.args.get("year"), _today().year))


# The forms register their routes on the same blueprint.
from app.web import roster_forms as roster_forms  # noqa: E402  (uses the helpers above)
