"""Building blocks of the OpenAPI document: parameters, operations, error responses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.api.schemas import ID, Schema, ref

ERROR_TEXT = {
    400: "The body is not JSON (malformed_json, empty_body).",
    401: "No bearer token, an unknown or revoked one, or a session cookie instead of one.",
    403: "The caller's positions do not allow this.",
    404: "No such record, or one the caller may not see.",
    409: "Not allowed in the current state, or the state changed meanwhile (compare-and-set).",
    415: "The body is not application/json.",
    422: "A field is unknown, of the wrong type or has a bad value; `field` names it. "
    "Nothing was stored.",
}
READ_ERRORS = (401,)
ITEM_ERRORS = (401, 404)
WRITE_ERRORS = (400, 401, 403, 404, 409, 415, 422)


def json_content(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def query(name: str, schema: Schema, description: str, *, explode: bool = False) -> Schema:
    out: Schema = {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }
    if explode:
        out.update(style="form", explode=True)
    return out


def path_param(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": ID, "description": description}


INCIDENT_ID = path_param("incident_id", "the incident's id (not its number)")


def operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    ok: tuple[int, str] = (200, "Incident"),
    errors: Iterable[int] = ITEM_ERRORS,
    body: str | None = None,
    body_optional: bool = False,
    params: Iterable[Schema] = (),
    description: str = "",
    public: bool = False,
) -> Schema:
    status, schema_name = ok
    responses: dict[str, Any] = {
        str(status): {
            "description": "OK" if status == 200 else "Created",
            "content": json_content(ref(schema_name)),
        }
    }
    if status == 201:
        responses["201"]["headers"] = {
            "Location": {"schema": {"type": "string"}, "description": "the new record"}
        }
    for code in sorted(set(errors) | ({400, 415, 422} if body else set())):
        responses[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": json_content(ref("Error")),
        }
    op: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "parameters": list(params),
        "responses": responses,
    }
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = {"required": not body_optional, "content": json_content(ref(body))}
    if public:
        op["security"] = []
    return op
