"""The accountability API's reads: the engine over posted facts, the subjects of an
incident, the case lists, one case, and the perfunctory closures (5.4). None of them
stores anything.
"""

from __future__ import annotations

from typing import Annotated

from flask.typing import ResponseReturnValue
from pydantic import Field
from sqlalchemy import select

from accountability import cases as workflow
from accountability.access import READERS, can_view
from accountability.clauses import PERFUNCTORY_CLOSURE_TEXT
from accountability.close import perfunctory_closures
from accountability.models import Case
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
from app.accountability_api.shapes import (
    Assessment,
    CaseList,
    CasePage,
    CaseStatus,
    Facts,
    PerfunctoryList,
    Subjects,
)
from app.accountability_api.shapes import Case as CaseOut
from app.api.auth import caps
from app.api.contract import Id, Query, endpoint
from app.extensions import db, now
from incidents.errors import Forbidden
from incidents.permissions import Capabilities

TAG = "accountability"


class CaseQuery(Query):
    status: list[CaseStatus] = Field(
        default_factory=list, description="one or more statuses (repeat or comma-separate)"
    )
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = Field(DEFAULT_LIMIT, description="page size")
    cursor: Id | None = Field(None, description="next_cursor of the previous page")


def _readable(caps_: Capabilities, rows: list[Case]) -> list[Case]:
    if caps_.roles & READERS:
        return rows
    at = now()
    return [row for row in rows if can_view(db(), caps_, row, at)]


@endpoint(
    "post",
    "/accountability/assess",
    operation_id="assessFacts",
    summary="Article 5 over the given facts (stores nothing); same JSON as the engine",
    tag=TAG,
    response=Assessment,
    body=Facts,
    blueprint=bp,
)
def assess_facts(body: Facts) -> ResponseReturnValue:
    """Article 5 over the posted facts; stores nothing. Same JSON as ``Assessment.to_dict``
    (the facts left out are left out, so that ``presumed`` says which defaults decided)."""
    return assess(body.model_dump(exclude_unset=True)).to_dict()


@endpoint(
    "get",
    "/incidents/<int:incident_id>/subjects",
    operation_id="listSubjects",
    summary="Who answers for the incident under Article 3, at its detection time",
    tag=TAG,
    response=Subjects,
    errors=(401, 403, 404),
    blueprint=bp,
)
def list_subjects(incident_id: int) -> ResponseReturnValue:
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
    return {"incident_id": incident.id, "at": incident.detected_at.isoformat(), "items": items}


@endpoint(
    "get",
    "/incidents/<int:incident_id>/cases",
    operation_id="listIncidentCases",
    summary="The incident's accountability cases",
    tag=TAG,
    response=CaseList,
    errors=(401, 404),
    blueprint=bp,
)
def list_incident_cases(incident_id: int) -> ResponseReturnValue:
    _incident(incident_id)
    rows = _readable(caps(), workflow.cases_of_incident(db(), incident_id))
    return {"items": [case_summary(db(), row) for row in rows]}


@endpoint(
    "get",
    "/accountability/cases",
    operation_id="listCases",
    summary="Accountability cases the caller may see, newest first",
    tag=TAG,
    response=CasePage,
    query=CaseQuery,
    blueprint=bp,
)
def list_cases(query: CaseQuery) -> ResponseReturnValue:
    stmt = select(Case).order_by(Case.id.desc())
    if query.status:
        stmt = stmt.where(Case.status.in_(query.status))
    if query.cursor is not None:
        stmt = stmt.where(Case.id < query.cursor)
    rows = _readable(caps(), list(db().scalars(stmt.limit(query.limit + 1))))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {
        "items": [case_summary(db(), row) for row in rows],
        "next_cursor": str(rows[-1].id) if more and rows else None,
    }


@endpoint(
    "get",
    "/cases/<int:case_id>",
    operation_id="getCase",
    summary="A case with its facts, determination and steps",
    tag=TAG,
    response=CaseOut,
    errors=(401, 404),
    blueprint=bp,
)
def get_case(case_id: int) -> ResponseReturnValue:
    return case_detail(db(), _visible_case(case_id), now=now(), caps=caps())


@endpoint(
    "get",
    "/accountability/perfunctory",
    operation_id="listPerfunctoryClosures",
    summary="Cases closed or waived with no sanction or a milder one than their tier allows "
    "(5.4 closing sentence); for the leading group",
    tag=TAG,
    response=PerfunctoryList,
    errors=(401, 403),
    blueprint=bp,
)
def perfunctory() -> ResponseReturnValue:
    rows = perfunctory_closures(db(), caps())
    zh, en = PERFUNCTORY_CLOSURE_TEXT
    return {
        "rule": {"clause": "5.4", "zh": zh, "en": en},
        "items": [perfunctory_item(db(), row) for row in rows],
    }
