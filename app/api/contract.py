"""One source for the API contract: pydantic v2 models validate the bodies and describe them.

Declare an endpoint with :func:`endpoint` instead of ``bp.get``/``bp.post``: it registers the
Flask route, validates the JSON body against ``body`` (the view gets the model instance as
its ``body`` argument), and records the operation, whose request and response schemas come
from the models (``model_json_schema``). :func:`operations` and :func:`component_schemas` give
the generated part of the OpenAPI 3.1 document (``app.api.openapi`` merges it in).

A pydantic ``ValidationError`` becomes the API's own 422 (``incidents.errors.ValidationError``)
naming the field at fault, as ``impact.cii`` or ``system_ids[0]``: unknown fields are refused
(``extra="forbid"``), ints are strict and bounded, the error body keeps its shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, TypeVar

from flask import current_app
from flask.typing import ResponseReturnValue
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic import ValidationError as PydanticError
from pydantic.json_schema import models_json_schema

from app.api import bp
from app.api.params import check_query, json_body
from app.input_guard import MAX_ID
from incidents.errors import ValidationError

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


class Out(BaseModel):
    """Base of every response body: closed, so the document says exactly what is sent."""

    model_config = ConfigDict(extra="forbid")


Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # PostgreSQL integer


def one_of(values: Sequence[str]) -> AfterValidator:
    """Validation that a string is one of ``values``; pair it with :func:`enum_of`:
    ``Annotated[str, one_of(GRADES), enum_of(GRADES)]``."""
    allowed = tuple(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return AfterValidator(check)


def enum_of(values: Sequence[str], description: str = "") -> WithJsonSchema:
    """The document's side of :func:`one_of`: an enum of ``values``."""
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if description:
        schema["description"] = description
    return WithJsonSchema(schema)


def schema_ref(name: str) -> Any:
    """A JSON object documented by a component not (yet) generated from a model."""
    return WithJsonSchema({"allOf": [{"$ref": REF_TEMPLATE.format(model=name)}]})


def field_path(loc: Iterable[int | str]) -> str:
    """``("impact", "cii")`` → ``impact.cii``; ``("system_ids", 0)`` → ``system_ids[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def to_api_error(exc: PydanticError) -> ValidationError:
    """The first problem of a pydantic error as the API's 422, naming its field."""
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    where = field_path(first["loc"]) or "body"
    if kind == "extra_forbidden":
        return ValidationError("unknown field", field=where, code="unknown_field")
    if kind == "missing":
        return ValidationError("is required", field=where, code="required")
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


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form, under /api/v1: /incidents/{incident_id}
    operation_id: str
    summary: str
    tag: str
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = (401,)
    description: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        def content(name: str) -> dict[str, Any]:
            return {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=name)}}}

        responses: dict[str, Any] = {
            str(self.status): {
                "description": "OK" if self.status == 200 else "Created",
                "content": content(self.response.__name__),
            }
        }
        codes = set(self.errors) | ({400, 415, 422} if self.body else set())
        for code in sorted(codes):
            responses[str(code)] = {"description": ERRORS_TEXT[code], "content": content("Error")}
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
            op["requestBody"] = {"required": True, "content": content(self.body.__name__)}
        return op


OPERATIONS: list[Operation] = []


def endpoint(
    method: str,
    path: str,
    *,
    operation_id: str,
    summary: str,
    tag: str,
    response: type[BaseModel],
    status: int = 200,
    body: type[BaseModel] | None = None,
    errors: tuple[int, ...] = (401,),
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., ResponseReturnValue]]:
    """Register a route on the API blueprint and its operation in the document.

    ``path`` is the Flask rule (``/incidents/<int:incident_id>``). The view returns the
    response model instance; this wraps it in JSON with ``status``.
    """
    openapi_path = _openapi_path(path)
    op = Operation(
        method=method.lower(),
        path=openapi_path,
        operation_id=operation_id,
        summary=summary,
        tag=tag,
        response=response,
        status=status,
        body=body,
        errors=errors,
        description=description,
        parameters=[
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            }
            for name in _path_names(path)
        ],
    )
    OPERATIONS.append(op)

    def decorate(view: Callable[..., Any]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def run(**kwargs: Any) -> ResponseReturnValue:
            check_query(())
            if body is not None:
                kwargs["body"] = parse(body, json_body())
            result = view(**kwargs)
            if current_app.testing and not isinstance(result, response):
                # Tests hold every answer to its model; production sends what it built.
                result = response.model_validate(result)
            payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            return payload, status

        bp.add_url_rule(path, endpoint=view.__name__, view_func=run, methods=[method.upper()])
        return run

    return decorate


def _openapi_path(rule: str) -> str:
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _path_names(rule: str) -> list[str]:
    import re

    return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule)


def operations() -> dict[str, dict[str, Any]]:
    """The generated ``paths`` of the document."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = op.document()
    return paths


def component_schemas() -> dict[str, Any]:
    """Every model the operations name, with the models they nest, as components."""
    models: list[tuple[type[BaseModel], Any]] = []
    for op in OPERATIONS:
        models.append((op.response, "serialization"))
        if op.body is not None:
            models.append((op.body, "validation"))
    _, top = models_json_schema(models, ref_template=REF_TEMPLATE)
    defs: dict[str, Any] = top.get("$defs", {})
    for schema in defs.values():
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
    return defs
