"""The accountability pages: the case list, a case, the perfunctory closures (5.4), and
an incident's subjects of accountability (Article 3) with their cases.
"""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required
from sqlalchemy import select

from accountability import cases as workflow
from accountability.access import READERS, can_view
from accountability.clauses import PERFUNCTORY_CLOSURE_TEXT, SANCTIONS
from accountability.close import PERFUNCTORY_READERS, perfunctory_closures
from accountability.execution import POLICE_STEPS
from accountability.facts import DERIVED
from accountability.models import CASE_STATUSES, PARTIES, Case
from accountability.present import case_detail, case_summary, perfunctory_item
from accountability.rules import SANCTION_DECIDER, TIER_SANCTIONS
from accountability.subjects import subjects_of
from app.extensions import db, now
from app.web.viewer import caps, visible_incident
from app.web_accountability.blueprint import _visible_case, bp_web
from app.web_accountability.labels import _page_context, fact_choices

LIST_LIMIT = 200


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
    if tier == 4:
        # 5.4: serious handling, always; the police referral is a box beside it.
        return allowed
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
