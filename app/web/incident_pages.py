"""Incident pages: the list with filters, the log form with its live grade suggestion, and
the incident page with its clocks, timeline and actions.

The list pages with a keyset cursor (``before`` = the last id shown), never an offset,
so the 2,000th page costs what the first does. The log form posts to
``escalation.response.open_incident`` (which numbers the incident and starts its clocks);
while the form is being filled, ``/grading/suggest`` answers with the CAC guide's
suggestion for the facts typed so far.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.extensions import db, now, services
from app.i18n import error_body, error_message
from app.web import bp
from app.web.actions import available_actions
from app.web.clocks import incident_clocks
from app.web.deadlines import deadlines_for
from app.web.forms import impact_mapping, incident_mapping, local_input
from app.web.incident_list import list_rows
from app.web.receipts import receipts_context
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, caps, visible_incident
from escalation.response import open_incident
from incidents.errors import Forbidden, ValidationError
from incidents.grading import GRADES, IMPACT_FIELDS, Impact, suggest
from incidents.inputs import IncidentInput
from incidents.lifecycle import STATUSES
from incidents.models import CATEGORIES, Incident
from incidents.org import Department, Person, System
from incidents.queries import IncidentFilter, list_incidents, timeline
from incidents.responsibility import responsible_for

PAGE_SIZE = 50
# The list shows each incident's responsible department, not its systems.
LIST_LOAD = (selectinload(Incident.responsible_department),)

# The impact form in the guide's order, grouped as a person reads an incident.
IMPACT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cii", ("cii", "system_outage_minutes", "main_function_outage_minutes")),
    ("site", ("site_class", "site_outage_minutes")),
    ("people", ("people_affected", "city_population_share", "province_population_share")),
    ("data", ("pi_records_leaked", "data_involved")),
    ("loss", ("economic_loss_cny",)),
    (
        "defacement",
        (
            "defacement",
            "defacement_home_minutes",
            "defacement_other_minutes",
            "defacement_shares",
            "defacement_views",
        ),
    ),
)


def impact_group_title(key: str) -> str:
    titles = {
        "cii": _("Critical information infrastructure"),
        "site": _("Portal, news site or platform"),
        "people": _("People affected"),
        "data": _("Data and personal information"),
        "loss": _("Economic loss"),
        "defacement": _("Defacement"),
    }
    return titles[key]


# --- the list -------------------------------------------------------------------------


def _day_start(text: str, field: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d")  # noqa: DTZ007  (zone added below)
    except ValueError:
        raise ValidationError(_("Enter a date."), field=field) from None
    return day.replace(tzinfo=services().policy.tz)


def filter_from(args: MultiDict[str, str]) -> IncidentFilter:
    """The list's filter from the query string (the same names the form uses)."""
    since = until = None
    if args.get("since"):
        since = _day_start(args["since"], "since")
    if args.get("until"):
        until = _day_start(args["until"], "until") + timedelta(days=1)
    department = args.get("department", "")
    return IncidentFilter(
        status=tuple(s for s in args.getlist("status") if s),
        grade=tuple(g for g in args.getlist("grade") if g),
        category=tuple(c for c in args.getlist("category") if c),
        since=since,
        until=until,
        department_id=int(department) if department.isdigit() else None,
        text=(args.get("q") or "").strip()[:100],
        open_only=args.get("open") == "1",
    )


@bp.get("/incidents")
@login_required
def incidents() -> str:
    session = db()
    flt = filter_from(request.args)
    before = request.args.get("before", "")
    page = list_incidents(
        session,
        caps(),
        flt,
        limit=PAGE_SIZE,
        cursor=int(before) if before.isdigit() else None,
        load=LIST_LOAD,
    )
    args = request.args.to_dict(flat=False)
    args.pop("before", None)
    next_url = (
        url_for("web.incidents", **args, before=page.next_cursor)  # type: ignore[arg-type]
        if page.next_cursor
        else None
    )
    return render_template(
        "incidents/list.html",
        page=page,
        rows=list_rows(page.items, deadlines_for(session, [i.id for i in page.items])),
        flt=flt,
        args=request.args,
        next_url=next_url,
        first_url=url_for("web.incidents", **args) if before else None,  # type: ignore[arg-type]
        statuses=STATUSES,
        grades=GRADES,
        categories=CATEGORIES,
        departments=session.scalars(select(Department).order_by(Department.id)).all(),
        filtered=any(v for k, v in request.args.items() if k != "before"),
    )


# --- the log form ---------------------------------------------------------------------


def _form_choices() -> dict[str, Any]:
    session = db()
    return {
        "categories": CATEGORIES,
        "grades": GRADES,
        "departments": session.scalars(select(Department).order_by(Department.id)).all(),
        "systems": session.scalars(select(System).order_by(System.name)).all(),
        "people": session.scalars(
            select(Person).where(Person.active.is_(True)).order_by(Person.name)
        ).all(),
        "impact_fields": IMPACT_FIELDS,
        "impact_groups": IMPACT_GROUPS,
        "impact_group_title": impact_group_title,
    }


def _with_cii_systems(form: MultiDict[str, str]) -> MultiDict[str, str]:
    """The form with the CII fact set when a chosen system is critical information
    infrastructure, as the record sets it when the incident is logged."""
    chosen = {int(s) for s in form.getlist("system_ids") if s.strip().isdigit()}
    if not chosen or form.get("impact.cii") in ("on", "true", "1", "yes"):
        return form
    cii = db().scalar(select(System.id).where(System.id.in_(chosen), System.is_cii.is_(True)))
    if cii is None:
        return form
    marked = MultiDict(form)
    marked["impact.cii"] = "on"
    return marked


def _render_form(form: MultiDict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    impact: Impact | None
    form = _with_cii_systems(form)
    try:
        impact = Impact.from_mapping(impact_mapping(form))
    except ValidationError:
        impact = None
    return (
        render_template(
            "incidents/new.html",
            form=form,
            errors=errors,
            suggestion=suggest(impact) if impact is not None else None,
            **_form_choices(),
        ),
        status,
    )


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
def new_incident() -> Any:
    if not caps().can_log:
        raise Forbidden(_("Only the command center logs incidents."))
    policy = services().policy
    if request.method == "GET":
        defaults = MultiDict({"detected_at": local_input(now(), policy.tz)})
        return _render_form(defaults, {})
    form = request.form
    try:
        data = IncidentInput.parse(incident_mapping(form, policy.tz))
        if data.grade is None:
            # The grade is chosen, never defaulted: with no impact facts typed the
            # suggestion is the residual 一般 (IV), which must not pass for a grading.
            raise ValidationError(
                _("Choose the grade; the suggestion beside it is a floor, not a default."),
                field="grade",
            )
        with writing() as session:
            incident = open_incident(session, data=data, actor=actor(), now=now(), policy=policy)
            incident_id, number = incident.id, incident.number
    except ValidationError as exc:
        field = exc.field or "form"
        return _render_form(form, {field: error_message(exc)}, 422)
    flash(_("Incident %(number)s logged; its clocks have started.", number=number), "ok")
    return redirect(url_for("web.incident", incident_id=incident_id))


@bp.post("/grading/suggest")
@login_required
def grading_suggest() -> Any:
    """The guide's suggestion for the impact facts in the posted form (the log form's
    live suggestion). Answers JSON: the grade and a rendered fragment to show."""
    try:
        impact = Impact.from_mapping(impact_mapping(_with_cii_systems(request.form)))
    except ValidationError as exc:
        html = render_template("incidents/_suggestion.html", suggestion=None, error=exc)
        return jsonify({"error": error_body(exc), "html": html}), 422
    suggestion = suggest(impact)
    return jsonify(
        {
            "grade": suggestion.grade,
            "reasons": [r.to_dict() for r in suggestion.reasons],
            "html": render_template("incidents/_suggestion.html", suggestion=suggestion),
        }
    )


# --- the incident page ----------------------------------------------------------------


def _page_context(incident_id: int) -> dict[str, Any]:
    session = db()
    incident = visible_incident(incident_id)
    at = now()
    clocks = incident_clocks(session, incident, at)
    chain = (
        responsible_for(
            session, at=incident.detected_at, department_id=incident.responsible_department_id
        )
        if incident.responsible_department_id is not None
        else []
    )
    return {
        "incident": incident,
        "clocks": clocks,
        "actions": available_actions(session, caps(), incident, clocks, at),
        "events": timeline(session, incident.id),
        "chain": chain,
        "impact_fields": IMPACT_FIELDS,
        "grades": GRADES,
        **receipts_context(session, incident),
    }


@bp.get("/incidents/<int:incident_id>")
@login_required
def incident(incident_id: int) -> str:
    return render_template("incidents/detail.html", **_page_context(incident_id))


@bp.get("/live/incidents/<int:incident_id>.json")
@login_required
def incident_live(incident_id: int) -> Response:
    """The incident page's live parts, rendered, with the server's time."""
    context = _page_context(incident_id)
    panels = {
        name: render_template(f"incidents/_{name}.html", **context)
        for name in ("status", "obligations", "receipts", "escalation", "actions", "timeline")
    }
    incident_row = context["incident"]
    return jsonify(
        {
            "now": context["clocks"].now_iso,
            "status": incident_row.status,
            "grade": incident_row.grade,
            "version": incident_row.version,
            "panels": panels,
        }
    )
