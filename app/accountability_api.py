"""JSON API for accountability (issue 5): the Article 5 engine, cases and their steps.

Registered at ``/api/v1`` next to the rest of the API, with the same contract: bearer
tokens only (``app.api.auth.authenticate`` runs before every view), JSON in and out,
one use case per write inside one unit of work, errors rendered by the app's handler as
``{"error": {"code", "message", "field"}}``. The use cases in ``accountability`` check
who may act; a case the caller may not see is a 404, so ids cannot be probed.

``openapi_paths()`` describes every route here for the API document.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from accountability import cases as workflow
from accountability.access import READERS, can_view
from accountability.clauses import PERFUNCTORY_CLOSURE_TEXT
from accountability.close import perfunctory_closures
from accountability.facts import parse_entries
from accountability.models import CASE_STATUSES, Case
from accountability.present import case_detail, case_summary, perfunctory_item
from accountability.rules import assess
from accountability.subjects import subjects_of
from accountability.workflow import MAX_TEXT
from app.api.auth import actor, authenticate, caps
from app.api.params import (
    body_object,
    check_query,
    json_body,
    optional_text,
    query_int,
    query_list,
)
from app.api.unit import unit
from app.extensions import db, now
from incidents.errors import Forbidden, NotFound, ValidationError
from incidents.models import Incident
from incidents.permissions import Capabilities
from incidents.permissions import can_view as can_view_incident

bp = Blueprint("accountability_api", __name__)

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@bp.before_request
def _authenticate() -> None:
    authenticate()


@bp.after_request
def _headers(response: Response) -> Response:
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fenghuo"'
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _visible_case(case_id: int) -> Case:
    case = db().get(Case, case_id)
    if case is None or not can_view(db(), caps(), case, now()):
        raise NotFound(f"no accountability case with id {case_id}", field="id")
    return case


def _incident(incident_id: int) -> Incident:
    incident = db().get(Incident, incident_id)
    if incident is None or not can_view_incident(db(), caps(), incident):
        raise NotFound(f"no incident with id {incident_id}", field="id")
    return incident


def _detail(case_id: int) -> dict[str, Any]:
    case = db().get(Case, case_id)
    assert case is not None
    return case_detail(db(), case, now=now(), caps=caps())


def _body(allowed: tuple[str, ...], *, optional: bool = True) -> dict[str, Any]:
    check_query(())
    return body_object(json_body(optional=optional), allowed)


def _readable(caps_: Capabilities, rows: list[Case]) -> list[Case]:
    if caps_.roles & READERS:
        return rows
    at = now()
    return [row for row in rows if can_view(db(), caps_, row, at)]


def _sanction(data: dict[str, Any]) -> str | None:
    value = data["sanction"]
    if value is not None and not isinstance(value, str):
        raise ValidationError("must be a sanction code or null", field="sanction")
    return value


def _text(data: dict[str, Any], name: str) -> str:
    return optional_text(data, name, max_len=MAX_TEXT)


def _flag(data: dict[str, Any], name: str) -> bool:
    if name not in data:
        raise ValidationError("is required (true or false)", field=name)
    value = data[name]
    if type(value) is not bool:
        raise ValidationError("must be true or false", field=name)
    return value


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


@bp.post("/incidents/<int:incident_id>/cases")
def open_case(incident_id: int) -> ResponseReturnValue:
    _incident(incident_id)
    data = _body(("person_id",), optional=False)
    if "person_id" not in data:
        raise ValidationError("is required", field="person_id")
    with unit() as session:
        case = workflow.open_case(
            session,
            incident_id=incident_id,
            person_id=data["person_id"],
            actor=actor(),
            now=now(),
        )
        body = case_detail(session, case, now=now(), caps=caps())
    reply = jsonify(body)
    reply.status_code = 201
    reply.headers["Location"] = f"{request.script_root}/api/v1/cases/{body['id']}"
    return reply


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


@bp.post("/cases/<int:case_id>/findings")
def enter_findings(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("findings",), optional=False)
    entries = parse_entries(data.get("findings"))
    with unit() as session:
        workflow.enter_findings(session, case_id=case_id, entries=entries, actor=actor(), now=now())
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/determine")
def determine(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    _body(())
    with unit() as session:
        workflow.determine(session, case_id=case_id, actor=actor(), now=now())
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/propose")
def propose(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("sanction", "reason"), optional=False)
    if "sanction" not in data:
        raise ValidationError("is required (a sanction code, or null for none)", field="sanction")
    with unit() as session:
        workflow.propose(
            session,
            case_id=case_id,
            sanction=_sanction(data),
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/decide")
def decide(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("sanction", "reason"))
    sanction = _sanction(data) if "sanction" in data else workflow.AS_PROPOSED
    with unit() as session:
        workflow.decide(
            session,
            case_id=case_id,
            sanction=sanction,
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/agree")
def agree(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("agree", "note", "party"), optional=False)
    party = data.get("party")
    if party is not None and not isinstance(party, str):
        raise ValidationError("must be a party code", field="party")
    with unit() as session:
        workflow.agree(
            session,
            case_id=case_id,
            agreed=_flag(data, "agree"),
            note=_text(data, "note"),
            party=party,
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/approve")
def approve(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("approve", "reason"), optional=False)
    with unit() as session:
        workflow.approve(
            session,
            case_id=case_id,
            approved=_flag(data, "approve"),
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/execute")
def execute(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("note",))
    with unit() as session:
        workflow.execute(
            session, case_id=case_id, note=_text(data, "note"), actor=actor(), now=now()
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/police")
def police(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("step", "on"), optional=False)
    step = data.get("step")
    if not isinstance(step, str):
        raise ValidationError("is required: reported, executed or closed", field="step")
    raw = data.get("on")
    try:
        on = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        on = None
    if on is None:
        raise ValidationError("must be a date (YYYY-MM-DD)", field="on")
    with unit() as session:
        workflow.police_step(session, case_id=case_id, step=step, on=on, actor=actor(), now=now())
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/close")
def close(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("justification",))
    with unit() as session:
        workflow.close_case(
            session,
            case_id=case_id,
            justification=_text(data, "justification"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/waive")
def waive(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("reason",), optional=False)
    with unit() as session:
        workflow.waive(
            session,
            case_id=case_id,
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


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


# --- OpenAPI ---------------------------------------------------------------------------

_ERROR = {"$ref": "#/components/schemas/Error"}
_ERROR_TEXT = {
    400: "The body is not JSON.",
    401: "No bearer token, an unknown or revoked one, or a session cookie instead of one.",
    403: "The caller's positions do not allow this step (Article 6), or they are the subject.",
    404: "No such incident or case, or one the caller may not see.",
    409: "Not possible in the case's current state, or it changed meanwhile.",
    415: "The body is not application/json.",
    422: "A field is unknown, of the wrong type or has a bad value; `field` names it.",
}
_STR: dict[str, Any] = {"type": "string"}
_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT}
_BOOL: dict[str, Any] = {"type": "boolean"}
_ID: dict[str, Any] = {"type": "integer", "minimum": 1}
_BILINGUAL: dict[str, Any] = {
    "type": "object",
    "properties": {"zh": _STR, "en": _STR},
    "required": ["zh", "en"],
}


def _object(props: dict[str, Any], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props if required is None else required),
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _facts_schema() -> dict[str, Any]:
    from accountability.rules import COOPERATION, FACT_DEFAULTS, GRADES, IMPACTS

    props: dict[str, Any] = {}
    for key, default in FACT_DEFAULTS.items():
        if key == "grade":
            props[key] = {"enum": [*GRADES, None], "default": None}
        elif key == "impact":
            props[key] = {"enum": list(IMPACTS), "default": default}
        elif key == "cooperation":
            props[key] = {"enum": list(COOPERATION), "default": default}
        elif key == "prior_sanctions":
            props[key] = {"type": "integer", "minimum": 0, "default": default}
        else:
            props[key] = {"type": "boolean", "default": default}
    return _object(props, required=())


def _assessment_schema() -> dict[str, Any]:
    clause = _object({"id": _STR, "tier": {"type": "integer"}, "zh": _STR, "en": _STR})
    option = _object(
        {
            "code": _STR,
            "zh": _STR,
            "en": _STR,
            "decided_by": {"enum": ["leading_group", "joint_decision_then_leading_group_approval"]},
            "clause": {"enum": ["6(1)", "6(2)"]},
            "condition": _nullable(_BILINGUAL),
        }
    )
    return _object(
        {
            "tier": {"type": "integer", "minimum": 0, "maximum": 4},
            "clauses": {"type": "array", "items": clause},
            "waived": {"type": "array", "items": clause},
            "exemption": _nullable(_object({"id": _STR, "zh": _STR, "en": _STR})),
            "sanctions": {"type": "array", "items": option},
            "facts": {"type": "object"},
            "rule_version": _STR,
            "uncovered": _BOOL,
            "note": _nullable(_BILINGUAL),
        }
    )


def _case_schema(*, detail: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "object"}
    props: dict[str, Any] = {
        "id": _ID,
        "incident": {"type": "object"},
        "subject": {"type": "object"},
        "status": {"enum": list(CASE_STATUSES)},
        "status_name": _BILINGUAL,
        "version": {"type": "integer"},
        "tier": {"type": ["integer", "null"]},
        "uncovered": _BOOL,
        "proposed_sanction": _nullable({"type": "object"}),
        "sanction": _nullable({"type": "object"}),
        "perfunctory": _BOOL,
        "opened_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
    }
    if detail:
        from accountability.present import ACTIONS

        props.update(
            {
                "facts": {"type": "array", "items": {"type": "object"}},
                "facts_changed": _BOOL,
                "determination": _nullable({"type": "object"}),
                "proposal": _nullable({"type": "object"}),
                "joint_decision": _nullable({"type": "object"}),
                "decision": _nullable({"type": "object"}),
                "execution": {"type": "object"},
                "police": {"type": "object"},
                "closure": {"type": "object"},
                "perfunctory_rule": {"type": "object"},
                "actions": {"type": "array", "items": {"enum": list(ACTIONS)}},
            }
        )
    obj.update(properties=props, required=list(props), additionalProperties=False)
    return obj


def _op(
    op_id: str,
    summary: str,
    ok: dict[str, Any],
    *,
    status: int = 200,
    errors: tuple[int, ...] = (401, 403, 404, 409),
    body: dict[str, Any] | None = None,
    params: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    codes = set(errors) | ({400, 415, 422} if body is not None else set())
    responses: dict[str, Any] = {
        str(status): {
            "description": "OK" if status == 200 else "Created",
            "content": {"application/json": {"schema": ok}},
        }
    }
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"schema": _ERROR}},
        }
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": ["accountability"],
        "parameters": list(params),
        "responses": responses,
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI 3.1 path items of this module, relative to ``/api/v1``; error bodies
    refer to the document's ``#/components/schemas/Error``."""
    from accountability.access import PARTIES
    from accountability.execution import POLICE_STEPS
    from accountability.rules import FACT_KEYS, SANCTIONS

    case, summary = _case_schema(detail=True), _case_schema(detail=False)
    items = _object({"items": {"type": "array", "items": summary}})
    page = _object(
        {"items": {"type": "array", "items": summary}, "next_cursor": {"type": ["string", "null"]}}
    )
    sanction = {"enum": [*SANCTIONS, None]}
    case_id, incident_id = _path("case_id"), _path("incident_id")
    finding = _object(
        {"fact": {"enum": list(FACT_KEYS)}, "value": {}, "evidence": _TEXT, "reason": _TEXT},
        required=("fact", "value"),
    )

    def step(op_id: str, summary_: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"post": _op(op_id, summary_, case, body=body, params=(case_id,))}

    return {
        "/accountability/assess": {
            "post": _op(
                "assessFacts",
                "Article 5 over the given facts (stores nothing); same JSON as the engine",
                _assessment_schema(),
                errors=(401,),
                body=_facts_schema(),
            )
        },
        "/accountability/cases": {
            "get": _op(
                "listCases",
                "Accountability cases the caller may see, newest first",
                page,
                errors=(401, 422),
                params=(
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "array", "items": {"enum": list(CASE_STATUSES)}},
                        "style": "form",
                        "explode": True,
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    },
                    {"name": "cursor", "in": "query", "required": False, "schema": _STR},
                ),
            )
        },
        "/accountability/perfunctory": {
            "get": _op(
                "listPerfunctoryClosures",
                "Cases closed or waived with no sanction or a milder one than their tier "
                "allows (5.4 closing sentence); for the leading group",
                _object({"rule": {"type": "object"}, "items": {"type": "array"}}),
                errors=(401, 403),
            )
        },
        "/incidents/{incident_id}/subjects": {
            "get": _op(
                "listSubjects",
                "Who answers for the incident under Article 3, at its detection time",
                _object({"incident_id": _ID, "at": _STR, "items": {"type": "array"}}),
                errors=(401, 403, 404),
                params=(incident_id,),
            )
        },
        "/incidents/{incident_id}/cases": {
            "get": _op(
                "listIncidentCases",
                "The incident's accountability cases",
                items,
                errors=(401, 404),
                params=(incident_id,),
            ),
            "post": _op(
                "openCase",
                "Open the case of one subject",
                case,
                status=201,
                body=_object({"person_id": _ID}),
                params=(incident_id,),
            ),
        },
        "/cases/{case_id}": {
            "get": _op(
                "getCase",
                "A case with its facts, determination and steps",
                case,
                errors=(401, 404),
                params=(case_id,),
            ),
        },
        "/cases/{case_id}/findings": step(
            "enterFindings",
            "Enter findings (with evidence) or override derived facts (with a reason)",
            _object({"findings": {"type": "array", "items": finding, "minItems": 1}}),
        ),
        "/cases/{case_id}/determine": step(
            "determineCase",
            "Assess the case's facts and store the determination",
            _object({}, required=()),
        ),
        "/cases/{case_id}/propose": step(
            "proposeSanction",
            "Propose a sanction the tier allows, or none (null)",
            _object({"sanction": sanction, "reason": _TEXT}, required=("sanction",)),
        ),
        "/cases/{case_id}/decide": step(
            "decideCase",
            "A leading group member decides a 6(1) proposal",
            _object({"sanction": sanction, "reason": _TEXT}, required=()),
        ),
        "/cases/{case_id}/agree": step(
            "agreeJointDecision",
            "A 6(2) party records its agreement (or disagreement)",
            _object(
                {"agree": _BOOL, "note": _TEXT, "party": {"enum": list(PARTIES)}},
                required=("agree",),
            ),
        ),
        "/cases/{case_id}/approve": step(
            "approveJointDecision",
            "A leading group member approves a 6(2) joint decision",
            _object({"approve": _BOOL, "reason": _TEXT}, required=("approve",)),
        ),
        "/cases/{case_id}/execute": step(
            "executeSanction",
            "Record that the decided sanction was carried out",
            _object({"note": _TEXT}, required=()),
        ),
        "/cases/{case_id}/police": step(
            "recordPoliceStep",
            "Record the date a police referral was reported, executed, closed",
            _object(
                {"step": {"enum": list(POLICE_STEPS)}, "on": {"type": "string", "format": "date"}}
            ),
        ),
        "/cases/{case_id}/close": step(
            "closeCase",
            "Close the case; no sanction or a milder one needs a justification",
            _object({"justification": _TEXT}, required=()),
        ),
        "/cases/{case_id}/waive": step(
            "waiveCase",
            "Drop the case before a decision, with a reason",
            _object({"reason": _TEXT}),
        ),
    }
