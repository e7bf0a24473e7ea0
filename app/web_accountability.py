"""Web pages for accountability (issue 5): the case list, the case, the perfunctory list.

The case page shows what the determination rests on — the facts with their sources, the
matched and the waived clauses with their text in the page's language, the sanctions
the tier allows with who decides them (Article 6) — and offers only the steps the
viewer may take (``accountability.present.actions_for``). Each form posts to one route
that calls one use case in ``accountability.cases``; a refusal comes back as a message
on the page, not as an error page. The pages hold no rules: those are in
``accountability``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from accountability import cases as workflow
from accountability.access import PARTY_NAMES, READERS, can_view
from accountability.clauses import DECIDER_TEXT, PERFUNCTORY_CLOSURE_TEXT, SANCTIONS
from accountability.close import PERFUNCTORY_READERS, perfunctory_closures
from accountability.execution import POLICE_STEPS
from accountability.facts import DERIVED, Entry
from accountability.models import CASE_STATUSES, PARTIES, Case
from accountability.present import case_detail, case_summary, perfunctory_item
from accountability.rules import (
    COOPERATION,
    FACT_KEYS,
    GRADES,
    IMPACTS,
    SANCTION_DECIDER,
    TIER_SANCTIONS,
)
from accountability.subjects import subjects_of
from accountability.workflow import STATUS_NAMES
from app.extensions import db, now
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, caps, visible_incident
from incidents.errors import FenghuoError, NotFound, ValidationError

bp_web = Blueprint("accountability_web", __name__)

LIST_LIMIT = 200


@bp_web.app_context_processor
def _nav() -> dict[str, Any]:
    # ``base.html`` includes the accountability link only where this blueprint is
    # registered: without it, the flag is undefined and the link is left out.
    return {"accountability_nav": True}


def fact_labels() -> dict[str, str]:
    return {
        "grade": _("Grade"),
        "reported_as_required": _("Reported as required"),
        "rules_implemented": _("Rules and technical specifications implemented"),
        "noncompliance_led_to_incident": _("The non-compliance led to the incident"),
        "handled_promptly": _("Handled promptly"),
        "impact": _("Impact on property or reputation"),
        "cooperation": _("Cooperation with the investigation"),
        "concealed_or_false_report": _("Deliberately concealed or falsely reported"),
        "evidence_destroyed_or_falsified": _("Evidence destroyed or records falsified"),
        "prior_sanctions": _("Earlier sanctions for not implementing the rules"),
        "force_majeure": _("Caused by force majeure"),
        "full_compliance_proven": _("Full compliance proven, cause unknown"),
    }


def value_labels() -> dict[str, str]:
    return {
        "true": _("yes"),
        "false": _("no"),
        "none": _("none"),
        "some": _("some impact"),
        "bad": _("bad impact"),
        "serious": _("serious consequences"),
        "full": _("full"),
        "poor": _("poor"),
        "refused": _("refused"),
    }


def source_labels() -> dict[str, str]:
    return {
        "record": _("from the record"),
        "override": _("overridden"),
        "finding": _("investigation finding"),
        "default": _("default"),
    }


def action_labels() -> dict[str, str]:
    return {
        "findings": _("Enter a finding"),
        "determine": _("Determine under Article 5"),
        "propose": _("Propose a sanction"),
        "decide": _("Decide (6(1))"),
        "agree": _("Record agreement (6(2))"),
        "approve": _("Approve (6(2))"),
        "execute": _("Record execution"),
        "police": _("Record the police referral"),
        "close": _("Close the case"),
        "waive": _("Waive the case"),
    }


def fact_choices() -> dict[str, list[tuple[str, str]]]:
    """The values a fact may take in the findings form, as (value, label)."""
    labels = value_labels()
    yes_no = [("true", labels["true"]), ("false", labels["false"])]
    choices: dict[str, list[tuple[str, str]]] = {}
    for key in FACT_KEYS:
        if key == "grade":
            choices[key] = [("", _("no incident"))] + [(g, g) for g in GRADES]
        elif key == "impact":
            choices[key] = [(v, labels[v]) for v in IMPACTS]
        elif key == "cooperation":
            choices[key] = [(v, labels[v]) for v in COOPERATION]
        elif key == "prior_sanctions":
            choices[key] = []
        else:
            choices[key] = yes_no
    return choices


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


def _visible_case(case_id: int) -> Case:
    case = db().get(Case, case_id)
    if case is None or not can_view(db(), caps(), case, now()):
        raise NotFound(_("No such accountability case."), field="id")
    return case


def _back(case_id: int) -> Response:
    return redirect(url_for("accountability_web.case_page", case_id=case_id))


def _run(case_id: int, work: Callable[[Session], str]) -> Response:
    """One use case in its own transaction; its outcome or its refusal as a message."""
    _visible_case(case_id)
    try:
        with writing() as session:
            message = work(session)
    except FenghuoError as exc:
        flash(_("Not done: %(reason)s", reason=exc.message), "error")
        return _back(case_id)
    flash(message, "ok")
    return _back(case_id)


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _pick(pair: dict[str, Any] | tuple[str, str] | None) -> str:
    from app.web.templating import pick

    if pair is None:
        return ""
    if isinstance(pair, dict):
        return pick((str(pair.get("zh", "")), str(pair.get("en", ""))))
    return pick(pair)


def _page_context() -> dict[str, Any]:
    return {
        "fact_labels": fact_labels(),
        "value_labels": value_labels(),
        "source_labels": source_labels(),
        "action_labels": action_labels(),
        "status_names": STATUS_NAMES,
        "sanction_names": SANCTIONS,
        "decider_text": DECIDER_TEXT,
        "party_names": PARTY_NAMES,
        "bi": _pick,
    }


@bp_web.get("/accountability/cases")
@login_required
def case_list() -> str:
    status = request.args.get("status", "")
    stmt = select(Case).order_by(Case.id.desc()).limit(LIST_LIMIT)
    if status in CASE_STATUSES:
        stmt = stmt.where(Case.status == status)
    viewer, at = caps(), now()
    rows = [row for row in db().scalars(stmt) if can_view(db(), viewer, row, at)]
    return render_template(
        "accountability/list.html",
        items=[case_summary(db(), row) for row in rows],
        statuses=CASE_STATUSES,
        status=status,
        sees_perfunctory=bool(viewer.roles & PERFUNCTORY_READERS),
        **_page_context(),
    )


@bp_web.get("/accountability/cases/<int:case_id>")
@login_required
def case_page(case_id: int) -> str:
    case = _visible_case(case_id)
    data = case_detail(db(), case, now=now(), caps=caps())
    tier = case.tier if case.tier is not None else 0
    return render_template(
        "accountability/case.html",
        case=data,
        fact_choices=fact_choices(),
        derived=DERIVED,
        proposable=_proposable(tier, case.uncovered),
        decidable=[code for code, clause in SANCTION_DECIDER.items() if clause == "6(1)"],
        police_steps=POLICE_STEPS,
        parties=PARTIES,
        today=now().date().isoformat(),
        perfunctory_rule=PERFUNCTORY_CLOSURE_TEXT,
        **_page_context(),
    )


def _proposable(tier: int, uncovered: bool) -> list[str]:
    """Sanctions offered in the proposal form: the tier's own first; milder ones (which
    need a justification); every one for a situation Article 5 does not cover."""
    allowed = list(TIER_SANCTIONS[tier])
    if uncovered:
        return list(SANCTIONS)
    if not allowed:
        return []
    order = list(SANCTIONS)
    milder = order[: order.index(allowed[0])]
    return allowed + milder


@bp_web.get("/accountability/perfunctory")
@login_required
def perfunctory_page() -> str:
    rows = perfunctory_closures(db(), caps())
    return render_template(
        "accountability/perfunctory.html",
        items=[perfunctory_item(db(), row) for row in rows],
        rule=PERFUNCTORY_CLOSURE_TEXT,
        **_page_context(),
    )


@bp_web.get("/incidents/<int:incident_id>/accountability")
@login_required
def incident_subjects(incident_id: int) -> str:
    incident = visible_incident(incident_id)
    viewer = caps()
    readers = bool(viewer.roles & READERS)
    opened = {c.subject_id: c for c in workflow.cases_of_incident(db(), incident_id)}
    subjects = subjects_of(db(), incident) if readers else []
    return render_template(
        "accountability/subjects.html",
        incident=incident,
        subjects=subjects,
        opened={
            pid: case_summary(db(), c)
            for pid, c in opened.items()
            if can_view(db(), viewer, c, now())
        },
        may_open=bool(viewer.roles & {"leading_group_office", "leading_group_member"}),
        **_page_context(),
    )


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
        flash(_("Not done: %(reason)s", reason=exc.message), "error")
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
