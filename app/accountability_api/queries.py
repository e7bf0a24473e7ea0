"""The accountability API's reads: the engine over posted facts, the subjects of an
incident, the case lists, one case, and the perfunctory closures (5.4). None of them
stores anything.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from accountability import cases as workflow
from accountability.access import READERS, can_view
from accountability.clauses import PERFUNCTORY_CLOSURE_TEXT
from accountability.close import perfunctory_closures
from accountability.models import CASE_STATUSES, Case
from accountability.present import case_detail, case_summary, perfunctory_item
from accountability.rules import assess
from accountability.subjects import subjects_of
from app.accountability_api.blueprint import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    _incident,
    _visible_case,
    bp,
)
from app.api.auth import caps
from app.api.params import check_query, json_body, query_int, query_list
from app.extensions import db, now
from incidents.errors import Forbidden, ValidationError
from incidents.permissions import Capabilities


def _readable(caps_: Capabilities, rows: list[Case]) -> list[Case]:
    if caps_.roles & READERS:
        return rows
    at = now()
    return [row for row in rows if can_view(db(), caps_, row, at)]


@bp.post("/accountability/assess")
def assess_facts() -> ResponseReturnValue:
    """Article 5 over the posted facts; stores nothing. Same JSON as ``Assessment.to_dict``."""
    check_query(())
    data = json_body()
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object of facts", field="facts")
    return jsonify(assess(data).to_dict())


@bp.get("/incidents/<int:incident_id>/subjects")
def list_subjects(incident_id: int) -> ResponseReturnValue:
    check_query(())
    incident = _incident(incident_id)
    if not caps().roles & READERS:
        raise Forbidden(
            "the subjects of accountability are for the leading group, its office and HR"
        )
    opened = {
        subject_id: case_id
        for case_id, subject_id in db().execute(
            select(Case.id, Case.subject_id).where(Case.incident_id == incident_id)
        )
    }
    items = []
    for subject in subjects_of(db(), incident):
        items.append({**subject.to_dict(), "case_id": opened.get(subject.person_id)})
    return jsonify(
        {"incident_id": incident.id, "at": incident.detected_at.isoformat(), "items": items}
    )


@bp.get("/incidents/<int:incident_id>/cases")
def list_incident_cases(incident_id: int) -> ResponseReturnValue:
    check_query(())
    _incident(incident_id)
    rows = _readable(caps(), workflow.cases_of_incident(db(), incident_id))
    return jsonify({"items": [case_summary(db(), row) for row in rows]})


@bp.get("/accountability/cases")
def list_cases() -> ResponseReturnValue:
    check_query(("status", "limit", "cursor"))
    statuses = query_list("status")
    for value in statuses:
        if value not in CASE_STATUSES:
            raise ValidationError(
                f"unknown status {value!r}; one of {', '.join(CASE_STATUSES)}", field="status"
            )
    limit = query_int("limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    assert limit is not None
    cursor = query_int("cursor")
    stmt = select(Case).order_by(Case.id.desc())
    if statuses:
        stmt = stmt.where(Case.status.in_(statuses))
    if cursor is not None:
        stmt = stmt.where(Case.id < cursor)
    rows = _readable(caps(), list(db().scalars(stmt.limit(limit + 1))))
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(
        {
            "items": [case_summary(db(), row) for row in rows],
            "next_cursor": str(rows[-1].id) if more and rows else None,
        }
    )


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> ResponseReturnValue:
    check_query(())
    return jsonify(case_detail(db(), _visible_case(case_id), now=now(), caps=caps()))


@bp.get("/accountability/perfunctory")
def perfunctory() -> ResponseReturnValue:
    check_query(())
    rows = perfunctory_closures(db(), caps())
    zh, en = PERFUNCTORY_CLOSURE_TEXT
    return jsonify(
        {
            "rule": {"clause": "5.4", "zh": zh, "en": en},
            "items": [perfunctory_item(db(), row) for row in rows],
        }
    )
