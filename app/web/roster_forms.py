"""The forms that change a duty roster and the holiday table.

Each form parses its fields (times typed in the policy's time zone), calls one use case
of ``incidents.rosters`` in one transaction (``writing``), and either redirects to the
calendar with a message or, when the use case refuses, shows the same page again with
the message in the reader's language beside the field it names; a refused form writes
nothing. Only the people who keep the rosters (``Capabilities.can_manage_rosters``) may
post them; anyone else gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import flash, redirect, request, url_for
from flask_login import login_required
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.extensions import now, services
from app.i18n import error_message
from app.web import bp
from app.web.forms import parse_local
from app.web.roster_calendar import month_key
from app.web.rosters import (
    known_role,
    render_holidays,
    render_overview,
    render_role,
    role_name,
)
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, caps
from incidents import rosters
from incidents.errors import FenghuoError, NotFound, ValidationError
from incidents.permissions import require
from incidents.roster_import import import_month

Form = MultiDict[str, str]

# The fields each form shows; an error naming another field is shown at the form's top.
FIELDS: dict[str, tuple[str, ...]] = {
    "rotation": (
        "people",
        "holiday_people",
        "handoff",
        "second_handoff",
        "pattern",
        "period",
        "anchor_date",
        "effective_from",
    ),
    "override": ("person_id", "replaces_id", "starts_at", "ends_at", "reason"),
    "swap": ("first", "second", "reason"),
    "day": ("day", "kind", "name"),
    "year": ("year",),
    "import": ("file", "month"),
}
PATTERNS = ("24h", "day_night")


def _require_keeper() -> None:
    require(
        caps().can_manage_rosters,
        _("Only the command center head and administrators change the duty roster."),
    )


def field_of(form_name: str, exc: FenghuoError) -> str:
    """Where the form shows ``exc``: the field it names (``people[2]`` is the third
    person box, ``handoffs[1]`` the second handoff), else the form as a whole."""
    name = exc.field or ""
    if name.startswith("handoffs["):
        return "second_handoff" if name == "handoffs[1]" else "handoff"
    base = name.split("[", 1)[0]
    if base in FIELDS[form_name]:
        return name
    return "form"


def _when(form: Form, name: str) -> datetime:
    raw = (form.get(name) or "").strip()
    if not raw:
        raise ValidationError(_("Enter a date and time."), field=name)
    return datetime.fromisoformat(parse_local(raw, services().policy.tz, name))


def _day(form: Form, name: str) -> date:
    try:
        return date.fromisoformat((form.get(name) or "").strip())
    except ValueError:
        raise ValidationError(_("Enter a date."), field=name) from None


def _person_id(form: Form, name: str, index: int | None = None) -> int | None:
    raw = (form.get(name) if index is None else form.getlist(name)[index]) or ""
    if not raw.strip():
        return None
    where = name if index is None else f"{name}[{index}]"
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(_("Choose an entry from the list."), field=where) from None


def _people(form: Form, name: str) -> list[int]:
    """The chosen people in the order of the boxes, empty boxes left out."""
    out = []
    for i in range(len(form.getlist(name))):
        pid = _person_id(form, name, i)
        if pid is not None:
            out.append(pid)
    return out


def _handoffs(form: Form) -> list[str]:
    first = (form.get("handoff") or "").strip()
    if not first:
        raise ValidationError(_("Enter the handoff time, for example 08:30."), field="handoff")
    pattern = form.get("pattern") or "24h"
    if pattern not in PATTERNS:
        raise ValidationError(_("Choose an entry from the list."), field="pattern")
    if pattern == "24h":
        return [first]
    second = (form.get("second_handoff") or "").strip()
    if not second:
        try:
            start = datetime.combine(date(2000, 1, 3), time.fromisoformat(first))
        except ValueError:
            raise ValidationError(
                _("Enter the handoff time, for example 08:30."), field="handoff"
            ) from None
        second = (start + timedelta(hours=12)).strftime("%H:%M")
    return [first, second]


def _refused(form_name: str, exc: FenghuoError) -> dict[str, dict[str, str]]:
    return {form_name: {field_of(form_name, exc): error_message(exc)}}


def _change_role(role: str, form_name: str, work: Callable[[Session, Form], datetime]) -> Any:
    """Run ``work`` (which returns the moment the change is about) in one transaction;
    on success show the calendar at that month, on refusal the page with the error."""
    known_role(role)
    _require_keeper()
    form = request.form
    try:
        with writing() as session:
            about = work(session, form)
    except FenghuoError as exc:
        if exc.status == 403:
            raise
        return render_role(
            role, errors=_refused(form_name, exc), values={form_name: form}, status=422
        )
    month = month_key(about.astimezone(services().policy.tz).date())
    return redirect(url_for("web.roster", role=role, month=month))


@bp.post("/rosters/<role>/rotation")
@login_required
def roster_rotation(role: str) -> Any:
    def work(session: Session, form: Form) -> datetime:
        people = _people(form, "people")
        holiday_people = _people(form, "holiday_people")
        period = form.get("period") or ""
        anchor = _day(form, "anchor_date")
        handoffs = _handoffs(form)
        raw_from = (form.get("effective_from") or "").strip()
        effective = _when(form, "effective_from") if raw_from else None
        if effective is not None and effective < now():
            raise ValidationError(
                _("The past is not rewritten: choose now or a later time."),
                field="effective_from",
            )
        rotation = rosters.set_rotation(
            session,
            role,
            people=people,
            holiday_people=holiday_people,
            handoffs=handoffs,
            period=period,
            anchor_date=anchor,
            effective_from=effective,
            actor=actor(),
            now=now(),
        )
        flash(_("The rotation of %(role)s is saved.", role=role_name(role)), "ok")
        return rotation.effective_from

    return _change_role(role, "rotation", work)


@bp.post("/rosters/<role>/overrides")
@login_required
def roster_override(role: str) -> Any:
    def work(session: Session, form: Form) -> datetime:
        person_id = _person_id(form, "person_id")
        if person_id is None:
            raise ValidationError(_("Choose who covers the span."), field="person_id")
        replaces_id = _person_id(form, "replaces_id")
        starts_at = _when(form, "starts_at")
        ends_at = _when(form, "ends_at")
        override = rosters.add_override(
            session,
            role,
            person_id=person_id,
            replaces_id=replaces_id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=(form.get("reason") or "").strip(),
            actor=actor(),
            now=now(),
        )
        flash(_("The override is recorded."), "ok")
        return override.starts_at

    return _change_role(role, "override", work)


@bp.post("/rosters/<role>/swaps")
@login_required
def roster_swap(role: str) -> Any:
    def work(session: Session, form: Form) -> datetime:
        first = _when(form, "first")
        second = _when(form, "second")
        one, _two = rosters.swap(
            session,
            role,
            first=first,
            second=second,
            reason=(form.get("reason") or "").strip(),
            actor=actor(),
            now=now(),
        )
        flash(_("The two shifts are swapped."), "ok")
        return one.starts_at

    return _change_role(role, "swap", work)


@bp.post("/rosters/<role>/overrides/<int:override_id>/revoke")
@login_required
def roster_revoke(role: str, override_id: int) -> Response:
    known_role(role)
    _require_keeper()
    with writing() as session:
        roster = rosters.roster_for(session, role)
        found = session.get(rosters.RosterOverride, override_id)
        if roster is None or found is None or found.roster_id != roster.id:
            raise NotFound(_("No such override."), field="id")
        override = rosters.revoke_override(session, override_id, actor=actor(), now=now())
        month = month_key(override.starts_at.astimezone(services().policy.tz).date())
    flash(_("The override is revoked from now on; the past keeps it."), "ok")
    return redirect(url_for("web.roster", role=role, month=month))


@bp.post("/rosters/import")
@login_required
def roster_import() -> Response | tuple[str, int]:
    """The office's monthly roster (xlsx or CSV): all or nothing; with "check only" the
    file is read and checked and nothing is written."""
    _require_keeper()
    form = request.form
    check = form.get("check") == "1"
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose the roster file (xlsx or CSV)."), field="file")
        month = (form.get("month") or "").strip()
        if not month:
            raise ValidationError(_("Enter the month, for example 2026-12."), field="month")
        with writing() as session:
            result = import_month(
                session,
                data=upload.read(),
                filename=upload.filename,
                month=month,
                actor=actor(),
                now=now(),
                dry_run=check,
            )
    except FenghuoError as exc:
        if exc.status == 403:
            raise
        return render_overview(errors=_refused("import", exc), values={"import": form}, status=422)
    written = sum(result.overrides.values())
    if check:
        flash(
            _(
                "The file is correct: %(days)d days of %(month)s; nothing was written.",
                days=result.days,
                month=result.month,
            ),
            "ok",
        )
    else:
        flash(
            _(
                "Imported %(month)s: %(days)d days, %(shifts)d shifts written, "
                "%(past)d already over left as they were.",
                month=result.month,
                days=result.days,
                shifts=written,
                past=result.skipped_past,
            ),
            "ok",
        )
    return redirect(url_for("web.rosters_overview", month=result.month))


# --- the holiday table ------------------------------------------------------------------


def _change_year(
    year: int, form_name: str, work: Callable[[Session, Form], str]
) -> Response | tuple[str, int]:
    _require_keeper()
    form = request.form
    try:
        with writing() as session:
            message = work(session, form)
    except FenghuoError as exc:
        if exc.status == 403:
            raise
        return render_holidays(
            year, errors=_refused(form_name, exc), values={form_name: form}, status=422
        )
    flash(message, "ok")
    return redirect(url_for("web.roster_holidays", year=year))


@bp.post("/rosters/holidays/<int:year>/seed")
@login_required
def roster_holidays_seed(year: int) -> Response | tuple[str, int]:
    def work(session: Session, form: Form) -> str:
        count = rosters.seed_holidays(session, year, actor=actor(), now=now())
        if count == 0:
            return _(
                "The holiday library has no new days for %(year)d: enter them by hand "
                "when the State Council publishes the arrangement.",
                year=year,
            )
        return _(
            "%(count)d days of %(year)d seeded from the holiday library.", count=count, year=year
        )

    return _change_year(year, "year", work)


@bp.post("/rosters/holidays/<int:year>/confirm")
@login_required
def roster_holidays_confirm(year: int) -> Response | tuple[str, int]:
    def work(session: Session, form: Form) -> str:
        rosters.confirm_year(session, year, actor=actor(), now=now())
        return _("The holiday arrangement for %(year)d is confirmed.", year=year)

    return _change_year(year, "year", work)


@bp.post("/rosters/holidays/<int:year>/day")
@login_required
def roster_holidays_day(year: int) -> Response | tuple[str, int]:
    def work(session: Session, form: Form) -> str:
        day = _day(form, "day")
        if day.year != year:
            raise ValidationError(_("Choose a day in %(year)d.", year=year), field="day")
        kind = form.get("kind") or ""
        rosters.set_holiday(
            session,
            day,
            kind or None,
            name=(form.get("name") or "").strip(),
            actor=actor(),
            now=now(),
        )
        return _("%(day)s is saved.", day=day.isoformat())

    return _change_year(year, "day", work)
