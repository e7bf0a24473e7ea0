"""The OpenAPI 3.1 document of API v1, served at ``/api/v1/openapi.json``.

Built from code: the schemas come from ``app.api.schemas`` (which reads the domain's own
constants), and every operation is listed here once. ``tests/api/test_openapi.py``
walks Flask's URL map to prove that every route is documented and every documented
path exists, and validates real responses against the schemas below.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.incidents import DEFAULT_LIMIT
from app.api.openapi_parts import (
    INCIDENT_ID,
    READ_ERRORS,
    WRITE_ERRORS,
    json_content,
    operation,
    path_param,
    query,
)
from app.api.org_admin import YAML_MIMETYPES
from app.api.schemas import CATEGORY, DATETIME, GRADE, ID, ROLE, STATUS, array, base_schemas
from incidents.queries import MAX_LIMIT

# Registered by the app factory beside ``api`` when the accountability face is built.
ACCOUNTABILITY_BLUEPRINT = "accountability_api"


def _incident_paths() -> dict[str, Any]:
    list_params = [
        query(
            "status", array(STATUS), "one or more statuses (repeat or comma-separate)", explode=True
        ),
        query("grade", array(GRADE), "one or more grades", explode=True),
        query("category", array(CATEGORY), "one or more categories", explode=True),
        query("since", DATETIME, "detected at or after this moment"),
        query("until", DATETIME, "detected before this moment"),
        query("q", {"type": "string"}, "text in the title or the number"),
        query("department_id", ID, "responsible department"),
        query("open", {"type": "boolean"}, "only incidents not yet resolved or closed"),
        query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "page size",
        ),
        query("cursor", {"type": "string"}, "next_cursor of the previous page"),
    ]
    return {
        "/incidents": {
            "get": operation(
                "listIncidents",
                "List incidents the caller may see, newest first",
                tag="incidents",
                ok=(200, "IncidentPage"),
                errors=(401, 422),
                params=list_params,
                description="Keyset pagination: follow `next_cursor` until it is null.",
            ),
            "post": operation(
                "createIncident",
                "Log an incident (starts its clocks)",
                tag="incidents",
                ok=(201, "Incident"),
                errors=(401, 403),
                body="IncidentCreate",
                description="Needs a command-center position (3(3)). Without `grade` the "
                "suggested grade is taken. The number (FH-YYYY-NNNN) is given on creation.",
            ),
        },
        "/incidents/{incident_id}": {
            "parameters": [INCIDENT_ID],
            "get": operation("getIncident", "Read an incident", tag="incidents"),
            "patch": operation(
                "patchIncident",
                "Edit descriptive fields",
                tag="incidents",
                errors=(401, 403, 404, 409),
                body="IncidentPatch",
                description="The grade and the status have their own endpoints.",
            ),
        },
        "/incidents/{incident_id}/timeline": {
            "parameters": [INCIDENT_ID],
            "get": operation(
                "getTimeline",
                "The incident's audit events, oldest first",
                tag="incidents",
                ok=(200, "Timeline"),
            ),
        },
        "/incidents/{incident_id}/transitions": {
            "parameters": [INCIDENT_ID],
            "post": operation(
                "transitionIncident",
                "Move the incident to another status",
                tag="lifecycle",
                errors=WRITE_ERRORS,
                body="TransitionRequest",
                description="new → acknowledged → handling → resolved → closed; resolved or "
                "closed → reopened (reason required) → handling. Compare-and-set: a "
                "concurrent change gives 409.",
            ),
        },
        "/incidents/{incident_id}/grade": {
            "parameters": [INCIDENT_ID],
            "post": operation(
                "regradeIncident",
                "Change the grade, with a reason",
                tag="lifecycle",
                errors=WRITE_ERRORS,
                body="GradeRequest",
                description="An upgrade tightens the deadlines from the original detection "
                "time and restarts the escalation chain; a downgrade keeps breaches.",
            ),
        },
    }


def _org_paths() -> dict[str, Any]:
    at = query("at", DATETIME, "the moment asked about (default: now)")
    return {
        "/org/departments": {
            "get": operation(
                "listDepartments",
                "Departments (a tree by parent_id)",
                tag="organisation",
                ok=(200, "DepartmentList"),
                errors=READ_ERRORS,
            ),
        },
        "/org/departments/{department_id}": {
            "parameters": [path_param("department_id", "department id")],
            "get": operation(
                "getDepartment", "One department", tag="organisation", ok=(200, "Department")
            ),
        },
        "/org/people": {
            "get": operation(
                "listPeople",
                "People with the positions they hold now",
                tag="organisation",
                ok=(200, "PersonList"),
                errors=(401, 422),
                params=[query("active", {"type": "boolean"}, "only active (or inactive) people")],
            ),
        },
        "/org/people/{person_id}": {
            "parameters": [path_param("person_id", "person id")],
            "get": operation("getPerson", "One person", tag="organisation", ok=(200, "Person")),
        },
        "/org/positions": {
            "get": operation(
                "listPositions",
                "Positions with their history",
                tag="organisation",
                ok=(200, "PositionList"),
                errors=(401, 422),
                params=[
                    at,
                    query("role", ROLE, "only this role"),
                    query("department_id", ID, "only in this department"),
                    query("person_id", ID, "only this person"),
                ],
            ),
        },
        "/org/systems": {
            "get": operation(
                "listSystems",
                "Information systems",
                tag="organisation",
                ok=(200, "SystemList"),
                errors=READ_ERRORS,
            ),
        },
        "/org/systems/{system_id}": {
            "parameters": [path_param("system_id", "system id")],
            "get": operation(
                "getSystem", "One information system", tag="organisation", ok=(200, "System")
            ),
        },
        "/org/responsible": {
            "get": operation(
                "getResponsible",
                "Who answers for a department or a system (Article 3)",
                tag="organisation",
                ok=(200, "ResponsibleChain"),
                errors=(401, 404, 422),
                params=[
                    query("department_id", ID, "the department (give this or system_id)"),
                    query("system_id", ID, "the system; its owner department answers"),
                    at,
                ],
                description="Department head 3(3), deputy director in charge 3(2), deputy "
                "director for network security 3(2), director 3(1), as held at `at`.",
            ),
        },
    }


def _org_admin_paths() -> dict[str, Any]:
    """The organisation file, for administrators (``app.api.org_admin``): YAML both ways."""
    yaml_file = {
        "type": "string",
        "description": "the organisation file (departments, people with their positions, "
        "systems), as `fenghuo org export` writes it",
    }
    only_admins = "Administrators only (403 otherwise)."
    export = operation(
        "exportOrganisation",
        "The organisation as a YAML file",
        tag="organisation",
        errors=(401, 403, 422),
        description=only_admins,
    )
    # The answer is the file itself, not JSON.
    export["responses"]["200"] = {
        "description": "OK",
        "content": {"application/yaml": {"schema": yaml_file}},
    }
    imported = operation(
        "importOrganisation",
        "Import the organisation from a YAML file (idempotent)",
        tag="organisation",
        ok=(200, "OrgImportResult"),
        errors=(400, 401, 403, 415, 422),
        description=f"{only_admins} Departments are matched by code, people by login, systems "
        "by code, positions by (person, role, department, from). Every change is audited; the "
        "same file twice changes nothing (`changed: false`). The whole file is one transaction.",
    )
    imported["requestBody"] = {
        "required": True,
        "content": {mimetype: {"schema": yaml_file} for mimetype in YAML_MIMETYPES},
    }
    notes = {
        "400": "The body is not UTF-8 (malformed_body).",
        "415": f"The body is not {' or '.join(YAML_MIMETYPES)}, or not UTF-8 by its charset.",
        "422": "The file has an error; `field` names it, e.g. people[3].positions[0].role. "
        "Nothing was stored.",
    }
    for status, note in notes.items():
        imported["responses"][status]["description"] = note
    return {"/org/export": {"get": export}, "/org/import": {"post": imported}}


def _other_paths() -> dict[str, Any]:
    return {
        "/me": {
            "get": operation(
                "whoami",
                "The person behind the token and what they may do",
                tag="account",
                ok=(200, "Me"),
                errors=READ_ERRORS,
            ),
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["meta"],
                "security": [],
                "parameters": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": json_content({"type": "object"}),
                    }
                },
            },
        },
    }


def document_for(app: Flask) -> dict[str, Any]:
    """The document of ``app``'s API: with the accountability routes (issue 5) when their
    blueprint is registered, since they share ``/api/v1`` and its contract."""
    return document(accountability=ACCOUNTABILITY_BLUEPRINT in app.blueprints)


@cache
def document(*, accountability: bool = False) -> dict[str, Any]:
    """The whole document; built once per process and variant (it depends only on code)."""
    from app.api.contract import component_schemas, operations
    from app.api.escalation_doc import escalation_paths, escalation_schemas
    from app.api.receipts import receipts_paths, receipts_schemas

    paths = {
        **operations(),
        **_incident_paths(),
        **escalation_paths(),
        **receipts_paths(),
        **_org_paths(),
        **_org_admin_paths(),
        **_other_paths(),
    }
    tags = ["incidents", "lifecycle", "reports", "escalation", "grading", "organisation"]
    tags += ["account", "intake", "meta"]
    if accountability:
        from app.accountability_api import openapi_paths

        paths.update(openapi_paths())
        tags.append("accountability")
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Fenghuo API",
            "version": "1",
            "summary": "Network security incidents, reporting deadlines and escalation",
            "description": "Authenticate every request with `Authorization: Bearer <token>` "
            "(`fenghuo token create --person LOGIN --name NAME`). Session cookies are "
            'refused. Errors are `{"error": {"code", "message", "field"}}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "tags": [{"name": name} for name in tags],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token (fh_…)",
                },
            },
            "schemas": {
                **base_schemas(),
                **escalation_schemas(),
                **receipts_schemas(),
                **component_schemas(),  # generated from the models (app.api.contract)
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return jsonify(document_for(current_app))
