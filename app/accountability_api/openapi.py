"""The OpenAPI 3.1 path items of the accountability API, merged into the API document
by ``app.api.openapi`` when the blueprint is registered.
"""

from __future__ import annotations

from typing import Any

from accountability.models import CASE_STATUSES
from app.accountability_api.blueprint import MAX_LIMIT
from app.accountability_api.schemas import (
    _BOOL,
    _ID,
    _STR,
    _TEXT,
    _assessment_schema,
    _case_schema,
    _facts_schema,
    _object,
)

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
    """The OpenAPI 3.1 path items of the accountability routes, relative to ``/api/v1``;
    error bodies refer to the document's ``#/components/schemas/Error``."""
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
            _object(
                {
                    "sanction": sanction,
                    "reason": _TEXT,
                    "police_referral": {"type": "boolean"},
                    "judicial_referral": {"type": "boolean"},
                },
                required=("sanction",),
            ),
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
