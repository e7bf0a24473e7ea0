"""One source for the API contract: pydantic v2 models validate the input and describe it.

Declare an endpoint with :func:`endpoint` instead of ``bp.get``/``bp.post``: it registers the
Flask route, validates the query string against ``query`` and the JSON body against
``body`` (the view gets the model instances as its ``query`` and ``body`` arguments), and
records the operation, whose parameters and schemas come from the models
(``model_json_schema``). :func:`operations` and :func:`component_schemas` give the generated
part of the OpenAPI 3.1 document (``app.api.openapi`` adds info, servers and security).

A pydantic ``ValidationError`` becomes the API's own 422 (``incidents.errors.ValidationError``)
naming the field at fault, as ``impact.cii`` or ``system_ids[0]``: unknown fields are refused
(``extra="forbid"``), ints are strict and bounded, the error body keeps its shape. A domain
error raised inside a model's validator keeps its own code, msgid and params.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Annotated, Any, TypeVar, get_args, get_origin

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic import ValidationError as PydanticError
from pydantic.json_schema import models_json_schema

from app.api import bp as api_bp
from app.api.params import json_body
from app.input_guard import MAX_ID
from incidents.errors import FenghuoError, ValidationError
from incidents.inputs import parse_datetime

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


class Body(BaseModel):
    """Base of every request body: closed (unknown fields are a 422), strict types."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Base of every query string: closed, and lax, since every value arrives as text
    (``limit=10`` is an int, ``open=true`` a bool). A list field takes the parameter
    repeated or comma-separated (``status=new,handling``)."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """Base of every response body: closed, so the document says exactly what is sent."""

    model_config = ConfigDict(extra="forbid")


class NoQuery(Query):
    """An endpoint without query parameters: any parameter is a 422 naming it."""


class ErrorDetail(Out):
    code: str = Field(description="machine-readable and stable, e.g. not_found, unknown_field")
    message: str = Field(description="in the reader's language (Accept-Language)")
    field: str | None = Field(
        description="the input at fault: a body field (impact.cii, system_ids[0]), a query "
        "parameter or a header"
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="the values the message is filled with, by name"
    )


class Error(Out):
    """Every 4xx and 5xx answer."""

    error: ErrorDetail


Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # PostgreSQL integer


def one_of(values: Sequence[str]) -> AfterValidator:
    """Validation that a string is one of ``values``; pair it with :func:`enum_of`:
    ``Annotated[str, one_of(GRADES), enum_of(GRADES)]``."""
    allowed = tuple(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValidationError(
                "must be one of %(choices)s; got %(value)r",
                code="choice",
                params={"choices": ", ".join(allowed), "value": value},
            )
        return value

    return AfterValidator(check)


def enum_of(values: Iterable[str], description: str = "") -> WithJsonSchema:
    """The document's side of :func:`one_of`: an enum of ``values``."""
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if description:
        schema["description"] = description
    return WithJsonSchema(schema)


def unlisted(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` for a field a response may leave out: its default is not a
    value the server sends, so the document does not show one."""
    schema.pop("default", None)


def _aware(value: object) -> object:
    """An ISO 8601 text with a zone as a ``datetime``: the domain's own parser, so that a
    time is read the same way from a body, a query string and a form."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and "T" in value and " " in value:
        # In a query string an unencoded "+08:00" arrives as " 08:00" (form encoding reads
        # + as a space); after the "T" no space is legitimate, so put the sign back.
        value = value.replace(" ", "+")
    return parse_datetime(value, "")


DateTimeIn = Annotated[
    datetime,
    BeforeValidator(_aware),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "with a zone"}),
]


def field_path(loc: Iterable[int | str]) -> str:
    """``("impact", "cii")`` → ``impact.cii``; ``("system_ids", 0)`` → ``system_ids[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# pydantic's error types as the API's msgids (translated like every domain error), with the
# params read from pydantic's context; the code stays ``invalid.<type>``.
_MESSAGES: dict[str, tuple[str, dict[str, str]]] = {
    "string_type": ("must be a string", {}),
    "bool_type": ("must be true or false", {}),
    "bool_parsing": ("must be true or false", {}),
    "string_too_short": ("must not be empty", {}),
    "string_too_long": ("must be at most %(max)s characters", {"max": "max_length"}),
    "less_than_equal": ("must be at most %(max)s", {"max": "le"}),
}


def to_api_error(exc: PydanticError, *, query: bool = False) -> ValidationError:
    """The first problem of a pydantic error as the API's 422, naming its field (for a
    query string, the parameter)."""
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    loc = first["loc"][:1] if query else first["loc"]
    where = field_path(loc) or "body"
    ctx: dict[str, Any] = first.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FenghuoError):
        return ValidationError(cause.msgid, field=where, code=cause.code, params=cause.params)
    if kind == "extra_forbidden":
        return ValidationError("unknown field", field=where, code="unknown_field")
    if kind == "missing":
        return ValidationError("is required", field=where, code="required")
    if kind in _MESSAGES:
        msgid, names = _MESSAGES[kind]
        params = {name: ctx.get(key) for name, key in names.items()}
        return ValidationError(msgid, field=where, code=f"invalid.{kind}", params=params)
    # pydantic's wording may change between releases; the code and the field do not.
    return ValidationError(
        "invalid value: %(reason)s",
        field=where,
        code=f"invalid.{kind}",
        params={"reason": first["msg"]},
    )


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """``data`` validated by ``model``; a 422 naming the field otherwise."""
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object", field="body", code="body_object")
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        raise to_api_error(exc) from None


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (list, tuple):
        return True
    return any(_is_list(arg) for arg in get_args(annotation) if arg is not type(None))


Q = TypeVar("Q", bound=Query)


def parse_query(model: type[Q]) -> Q:
    """The request's query string validated by ``model``; a 422 naming the parameter.

    An empty value (``?limit=``) counts as absent; a list field takes repeats and commas.
    """
    allowed = model.model_fields
    data: dict[str, Any] = {}
    for name in request.args:
        if name not in allowed:
            raise ValidationError(
                "unknown query parameter; allowed: %(allowed)s",
                field=name,
                code="unknown_query_parameter",
                params={"allowed": ", ".join(sorted(allowed)) or "-"},
            )
        if _is_list(allowed[name].annotation):
            values: list[str] = []
            for raw in request.args.getlist(name):
                values.extend(part.strip() for part in raw.split(",") if part.strip())
            if values:
                data[name] = list(dict.fromkeys(values))
        elif request.args[name] != "":
            data[name] = request.args[name]
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        raise to_api_error(exc, query=True) from None


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
            "description": self.notes.get(self.status, "OK" if self.status < 300 else "Created"),
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
        if _is_list(model.model_fields[name].annotation):
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
