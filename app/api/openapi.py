"""The OpenAPI 3.1 document of API v1, served at ``/api/v1/openapi.json``.

Generated: every operation and schema comes from the endpoints declared through
``app.api.contract`` and their pydantic models; this module adds what is about the
document itself (info, servers, the bearer scheme, the tags' order). The routes of a
blueprint the app did not register (the accountability face is optional) are left out.
``tests/api/test_openapi.py`` validates the document with openapi-spec-validator, walks
Flask's URL map to prove that every route is documented and every documented operation
served, and validates real responses against the schemas.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from app.api import contract
from app.api.contract import endpoint

# The tags in the order a reader meets them; a tag not listed comes after, as declared.
TAG_ORDER = (
    "incidents",
    "lifecycle",
    "reports",
    "escalation",
    "grading",
    "organisation",
    "rosters",
    "account",
    "accountability",
    "intake",
    "meta",
)


def document_for(app: Flask) -> dict[str, Any]:
    """The document of ``app``'s API: the operations of the blueprints it registered
    (the accountability routes share ``/api/v1`` and its contract when installed)."""
    return document(app.blueprints)


def document(blueprints: Collection[str] | None = None) -> dict[str, Any]:
    """The whole document (of the routes on ``blueprints``; every declared route without);
    built once per process, variant and set of declared operations, since it depends only
    on code (a face imported later adds its operations)."""
    names = None if blueprints is None else frozenset(blueprints)
    return _document(names, len(contract.OPERATIONS))


@cache
def _document(blueprints: frozenset[str] | None, _declared: int) -> dict[str, Any]:
    found = contract.tags(blueprints)
    tags = [t for t in TAG_ORDER if t in found] + [t for t in found if t not in TAG_ORDER]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Fenghuo API",
            "version": "1",
            "summary": "Network security incidents, reporting deadlines and escalation",
            "description": "Authenticate every request with `Authorization: Bearer <token>` "
            "(`fenghuo token create --person LOGIN --name NAME`). Session cookies are "
            'refused. Errors are `{"error": {"code", "message", "field", "params"}}`; '
            "the message is in the language of `Accept-Language` (English by default).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "tags": [{"name": name} for name in tags],
        "paths": contract.operations(blueprints),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token (fh_…)",
                },
            },
            "schemas": contract.component_schemas(blueprints),
        },
    }


@endpoint(
    "get",
    "/openapi.json",
    operation_id="openapi",
    summary="This document",
    tag="meta",
    response={"application/json": {"schema": {"type": "object"}}},
    errors=(),
    public=True,
    notes={200: "OpenAPI 3.1"},
)
def openapi_document() -> ResponseReturnValue:
    return jsonify(document_for(current_app))
