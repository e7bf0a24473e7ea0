"""One source for the API contract: pydantic v2 models validate the input and describe it.

Declare an endpoint with :func:`endpoint` instead of ``bp.get``/``bp.post``: it registers the
Flask route, validates the query string against ``query`` and the JSON body against
``body`` (the view gets the model instances as its ``query`` and ``body`` arguments), and
records the operation, whose parameters and schemas come from the models
(``model_json_schema``). :func:`operations` and :func:`component_schemas` give the generated
part of the OpenAPI 3.1 document (``app.api.openapi`` adds info, servers and security).

The models' base classes, the shared field types and how a pydantic error becomes the
API's own 422 naming the field are ``app.api.validation``'s (re-exported here, so that an
endpoint module imports from one place): unknown fields are refused (``extra="forbid"``),
ints are strict and bounded, the error body keeps its shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api import bp as api_bp
from app.api.params import json_body
from app.api.validation import (
    Body,
    DateTimeIn,
    Error,
    ErrorDetail,
    Id,
    NoQuery,
    Out,
    Query,
    enum_of,
    field_path,
    is_list,
    one_of,
    parse,
    parse_query,
    to_api_error,
    unlisted,
)
from app.input_guard import MAX_ID

__all__ = [  # the models and types are app.api.validation's; declared endpoints use both
    "OPERATIONS",
    "Body",
    "DateTimeIn",
    "Error",
    "ErrorDetail",
    "Id",
    "NoQuery",
    "Operation",
    "Out",
    "Query",
    "component_schemas",
    "endpoint",
    "enum_of",
    "field_path",
    "one_of",
    "operations",
    "parse",
    "parse_query",
    "query_parameters",
    "tags",
    "to_api_error",
    "unlisted",
]

REF_TEMPLATE = "#/components/schemas/{model}"
ERRORS_TEXT = {
    400: "The body is not JSON (malformed_json, empty_body).",
    401: "No bearer token, an unknown or revoked one, or a session cookie instead of one.",
    403: "The caller's positions do not allow this.",
    404: "No such record, or one the caller may not see.",
    409: "Not allowed in the current state, or the state changed meanwhile (compare-and-set).",
    415: "The body is not application/json.",
    422: "A field is unknown, of the wrong type or has a bad value; `field` names it. "
    "Nothing was stored.",
}


Content = Mapping[str, Any]  # a media type → its schema, for what is not a JSON model


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form, under /api/v1: /incidents/{incident_id}
    operation_id: str
    summary: str
    tag: str
    response: type[BaseModel] | Content
    status: int = 200
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = (401,)
    description: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)
    blueprint: str = "api"
    body_optional: bool = False
    request: Content | None = None  # a body that is not a JSON model (the view reads it)
    notes: Mapping[int, str] = field(default_factory=dict)  # per-status descriptions
    location: bool = False  # a 201 says where the new record is
    public: bool = False

    def models(self) -> list[tuple[type[BaseModel], Any]]:
        found: list[tuple[type[BaseModel], Any]] = []
        if isinstance(self.response, type):
            found.append((self.response, "serialization"))
        if self.body is not None:
            found.append((self.body, "validation"))
        return found

    def document(self) -> dict[str, Any]:
        def content(name: str) -> dict[str, Any]:
            return {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=name)}}}

        ok: dict[str, Any] = {
            "description": self.notes.get(self.status, "Created" if self.status == 201 else "OK"),
            "content": (
                content(self.response.__name__)
                if isinstance(self.response, type)
                else dict(self.response)
            ),
        }
        if self.location:
            ok["headers"] = {
                "Location": {"schema": {"type": "string"}, "description": "the new record"}
            }
        responses: dict[str, Any] = {str(self.status): ok}
        takes_body = self.body is not None or self.request is not None
        codes = set(self.errors) | ({400, 415, 422} if takes_body else set())
        if any(p["in"] == "query" for p in self.parameters):
            codes.add(422)
        for code in sorted(codes):
            responses[str(code)] = {
                "description": self.notes.get(code, ERRORS_TEXT[code]),
                "content": content("Error"),
            }
        op: dict[str, Any] = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": [self.tag],
            "parameters": self.parameters,
            "responses": responses,
        }
        if self.description:
            op["description"] = self.description
        if self.body is not None:
            op["requestBody"] = {
                "required": not self.body_optional,
                "content": content(self.body.__name__),
            }
        elif self.request is not None:
            op["requestBody"] = {"required": True, "content": dict(self.request)}
        if self.public:
            op["security"] = []
        return op


OPERATIONS: list[Operation] = []


def endpoint(
    method: str,
    path: str,
    *,
    operation_id: str,
    summary: str,
    tag: str,
    response: type[BaseModel] | Content,
    status: int = 200,
    body: type[BaseModel] | None = None,
    body_optional: bool = False,
    query: type[Query] | None = None,
    errors: tuple[int, ...] = (401,),
    description: str = "",
    blueprint: Blueprint | None = None,
    request_content: Content | None = None,
    notes: Mapping[int, str] | None = None,
    location: bool = False,
    public: bool = False,
    path_descriptions: Mapping[str, str] | None = None,
    guard: Callable[..., object] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., ResponseReturnValue]]:
    """Register a route and its operation in the document.

    ``path`` is the Flask rule (``/incidents/<int:incident_id>``). The view returns the
    response (a model instance, or the dict a serializer built, held to the model under
    test), optionally with a dict of headers: ``return reply, {"Location": url}``. A view
    whose answer is not JSON (``response`` a media-type mapping) returns a Flask Response.
    ``body_optional``: an absent body is ``{}``. ``blueprint``: the API's by default.
    ``guard`` runs with the path parameters after the query string is checked and before
    the body is read: who may call (403) and whether the record is there for them (404)
    come before what is wrong with the body (422), as a client would fix them.
    """
    target = blueprint or api_bp
    query_model = query or NoQuery
    described = dict(path_descriptions or {})
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            **({"description": described[name]} if name in described else {}),
        }
        for name in re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", path)
    ]
    parameters += query_parameters(query_model)
    op = Operation(
        method=method.lower(),
        path=re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path),
        operation_id=operation_id,
        summary=summary,
        tag=tag,
        response=response,
        status=status,
        body=body,
        errors=errors,
        description=description,
        parameters=parameters,
        blueprint=target.name,
        body_optional=body_optional,
        request=request_content,
        notes=dict(notes or {}),
        location=location,
        public=public,
    )
    OPERATIONS.append(op)

    def decorate(view: Callable[..., Any]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def run(**kwargs: Any) -> ResponseReturnValue:
            parsed = parse_query(query_model)
            if guard is not None:
                guard(**kwargs)
            if query is not None:
                kwargs["query"] = parsed
            if body is not None:
                kwargs["body"] = parse(body, json_body(optional=body_optional))
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            headers: dict[str, str] = {}
            if isinstance(result, tuple):
                result, headers = result
            checked = isinstance(response, type) and not isinstance(result, response)
            if checked and current_app.testing:
                # Tests hold every answer to its model; production sends what it built.
                response.model_validate(result)  # type: ignore[union-attr]
            payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            return payload, status, headers

        target.add_url_rule(path, endpoint=view.__name__, view_func=run, methods=[method.upper()])
        return run

    return decorate


def query_parameters(model: type[Query]) -> list[dict[str, Any]]:
    """The OpenAPI parameters of a query model: one per field, arrays exploded."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    required = set(schema.get("required", ()))
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    out: list[dict[str, Any]] = []
    for name, prop in schema.get("properties", {}).items():
        prop = {key: value for key, value in prop.items() if key != "title"}
        options = prop.get("anyOf", [])
        if len(options) == 2 and {"type": "null"} in options:
            # Absent is how a query string says "none"; there is no null to send.
            prop.pop("anyOf")
            prop = {**next(o for o in options if o != {"type": "null"}), **prop}
        if prop.get("default", 0) is None:
            del prop["default"]
        description = prop.pop("description", "")
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            param["description"] = description
        if is_list(fields[name].annotation):
            param.update(style="form", explode=True)
        out.append(param)
    return out


def _included(op: Operation, blueprints: Collection[str] | None) -> bool:
    return blueprints is None or op.blueprint in blueprints


def operations(blueprints: Collection[str] | None = None) -> dict[str, dict[str, Any]]:
    """The generated ``paths`` of the document (of the routes on ``blueprints``, if given)."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        if _included(op, blueprints):
            paths.setdefault(op.path, {})[op.method] = op.document()
    return dict(sorted(paths.items()))


def tags(blueprints: Collection[str] | None = None) -> list[str]:
    """The operations' tags, in the order they were first declared."""
    return list(dict.fromkeys(op.tag for op in OPERATIONS if _included(op, blueprints)))


def component_schemas(blueprints: Collection[str] | None = None) -> dict[str, Any]:
    """``Error`` and every model the operations name, with the models they nest."""
    models: list[tuple[type[BaseModel], Any]] = [(Error, "serialization")]
    for op in OPERATIONS:
        if _included(op, blueprints):
            models.extend(op.models())
    _, top = models_json_schema(models, ref_template=REF_TEMPLATE)
    defs: dict[str, Any] = top.get("$defs", {})
    for schema in defs.values():
        _drop_titles(schema)
    return dict(sorted(defs.items()))


def _drop_titles(schema: Any) -> None:
    """pydantic titles every model and property after its Python name; the document's
    names are the component keys and the property names themselves."""
    if isinstance(schema, dict):
        title = schema.get("title")
        if isinstance(title, str):
            del schema["title"]
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for prop in value.values():
                    _drop_titles(prop)
            elif key != "examples":
                _drop_titles(value)
    elif isinstance(schema, list):
        for item in schema:
            _drop_titles(item)
