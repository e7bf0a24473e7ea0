"""The accountability forms' routes: opening a case, then each step of its workflow.
Each posts to one use case in ``accountability.cases`` in its own transaction and goes
back to the case page with the outcome, or the refusal, as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import flash, redirect, request, url_for
from flask_login import login_required
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from accountability import cases as workflow
from accountability.facts import Entry
from accountability.rules import FACT_KEYS
from app.extensions import now
from app.i18n import error_message
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, visible_incident
from app.web_accountability.blueprint import _visible_case, bp_web
from incidents.errors import FenghuoError, ValidationError


def _parse_value(fact: str, raw: str) -> object:
    if fact not in FACT_KEYS:
        raise ValidationError(_("Choose a fact."), field="fact")
    if fact == "grade":
        return raw or None
    if fact in ("impact", "cooperation"):
        return raw
    if fact == "prior_sanctions":
        if not raw.strip().isdigit():
            raise ValidationError(_("Enter a whole number."), field="value")
        return int(raw)
    if raw not in ("true", "false"):
        raise ValidationError(_("Choose yes or no."), field="value")
    return raw == "true"


def _back(case_id: int) -> Response:
    return redirect(url_for("accountability_web.case_page", case_id=case_id))


def _run(case_id: int, work: Callable[[Session], str]) -> Response:
    """One use case in its own transaction; its outcome or its refusal as a message."""
    _visible_case(case_id)
    try:
        with writing() as session:
            message = work(session)
    except FenghuoError as exc:
        flash(_("Not done: %(reason)s", reason=error_message(exc)), "error")
        return _back(case_id)
    flash(message, "ok")
    return _back(case_id)


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


@bp_web.post("/incidents/<int:incident_id>/accountability")
@login_required
def open_case(incident_id: int) -> Response:
    visible_incident(incident_id)
    raw = _form("person_id")
    try:
        with writing() as session:
            if not raw.isdigit():
                raise ValidationError(_("Choose a person."), field="person_id")
            case = workflow.open_case(
                session, incident_id=incident_id, person_id=int(raw), actor=actor(), now=now()
            )
            case_id = case.id
    except FenghuoError as exc:
        flash(_("Not done: %(reason)s", reason=error_message(exc)), "error")
        return redirect(url_for("accountability_web.incident_subjects", incident_id=incident_id))
    flash(_("Case opened."), "ok")
    return _back(case_id)


@bp_web.post("/accountability/cases/<int:case_id>/findings")
@login_required
def findings(case_id: int) -> Response:
    def work(session: Session) -> str:
        fact = _form("fact")
        value = _parse_value(fact, request.form.get("value", ""))
        entry = Entry(fact, value, evidence=_form("evidence"), reason=_form("reason"))
        workflow.enter_findings(session, case_id=case_id, entries=[entry], actor=actor(), now=now())
        return _("Recorded.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/determine")
@login_required
def determine(case_id: int) -> Response:
    def work(session: Session) -> str:
        row = workflow.determine(session, case_id=case_id, actor=actor(), now=now())
        return _("Determined: tier %(tier)d.", tier=row.tier)

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/propose")
@login_required
def propose(case_id: int) -> Response:
    def work(session: Session) -> str:
        workflow.propose(
            session,
            case_id=case_id,
            sanction=_form("sanction") or None,
            reason=_form("reason"),
            actor=actor(),
            now=now(),
            police_referral=request.form.get("police_referral") == "on",
            judicial_referral=request.form.get("judicial_referral") == "on",
        )
        return _("Proposed. Those who decide have been notified.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/decide")
@login_required
def decide(case_id: int) -> Response:
    def work(session: Session) -> str:
        raw = request.form.get("sanction", workflow.AS_PROPOSED)
        sanction = None if raw == "" else raw
        workflow.decide(
            session,
            case_id=case_id,
            sanction=sanction,
            reason=_form("reason"),
            actor=actor(),
            now=now(),
        )
        return _("Decided.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/agree")
@login_required
def agree(case_id: int) -> Response:
    def work(session: Session) -> str:
        answer = _form("agree")
        if answer not in ("yes", "no"):
            raise ValidationError(_("Choose whether you agree."), field="agree")
        workflow.agree(
            session,
            case_id=case_id,
            agreed=answer == "yes",
            note=_form("note"),
            party=_form("party") or None,
            actor=actor(),
            now=now(),
        )
        return _("Your answer is recorded.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/approve")
@login_required
def approve(case_id: int) -> Response:
    def work(session: Session) -> str:
        answer = _form("approve")
        if answer not in ("yes", "no"):
            raise ValidationError(_("Choose whether you approve."), field="approve")
        workflow.approve(
            session,
            case_id=case_id,
            approved=answer == "yes",
            reason=_form("reason"),
            actor=actor(),
            now=now(),
        )
        return _("Approved.") if answer == "yes" else _("Not approved; sent back.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/execute")
@login_required
def execute(case_id: int) -> Response:
    def work(session: Session) -> str:
        workflow.execute(session, case_id=case_id, note=_form("note"), actor=actor(), now=now())
        return _("Recorded as carried out.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/police")
@login_required
def police(case_id: int) -> Response:
    def work(session: Session) -> str:
        try:
            on = date.fromisoformat(_form("on"))
        except ValueError:
            raise ValidationError(_("Enter a date."), field="on") from None
        workflow.police_step(
            session, case_id=case_id, step=_form("step"), on=on, actor=actor(), now=now()
        )
        return _("Recorded.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/close")
@login_required
def close(case_id: int) -> Response:
    def work(session: Session) -> str:
        case = workflow.close_case(
            session,
            case_id=case_id,
            justification=_form("justification"),
            actor=actor(),
            now=now(),
        )
        if case.perfunctory:
            return _("Closed, and listed for the leading group as a possible perfunctory closure.")
        return _("Closed.")

    return _run(case_id, work)


@bp_web.post("/accountability/cases/<int:case_id>/waive")
@login_required
def waive(case_id: int) -> Response:
    def work(session: Session) -> str:
        workflow.waive(session, case_id=case_id, reason=_form("reason"), actor=actor(), now=now())
        return _("Waived.")

    return _run(case_id, work)
