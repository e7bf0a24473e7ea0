"""The API's input and output models and how their errors read: the base classes
(``Body``, ``Query``, ``Out``), the field types the faces share (``Id``, ``DateTimeIn``,
enums from the code's constants), the ``Error`` body, and a pydantic error as the API's
own 422 naming the field at fault (``impact.cii``, ``system_ids[0]``, a query parameter).

A domain ``ValidationError`` raised inside a validator keeps its code, msgid and params,
so it is translated like every domain error; common pydantic error types are given the
catalogue's msgids. ``app.api.contract`` declares endpoints with these models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar, get_args, get_origin

from flask import request
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic import ValidationError as PydanticError

from app.input_guard import MAX_ID
from incidents.errors import N_, FenghuoError, ValidationError
from incidents.inputs import parse_datetime


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
    "string_type": (N_("must be a string"), {}),
    "bool_type": (N_("must be true or false"), {}),
    "bool_parsing": (N_("must be true or false"), {}),
    "int_type": (N_("must be an integer"), {}),
    "int_parsing": (N_("must be an integer"), {}),
    "int_from_float": (N_("must be an integer"), {}),
    "float_type": (N_("must be a number"), {}),
    "float_parsing": (N_("must be a number"), {}),
    "list_type": (N_("must be a list"), {}),
    "model_type": (N_("must be an object"), {}),
    "dict_type": (N_("must be an object"), {}),
    "string_too_short": (N_("must be at least %(min)s characters"), {"min": "min_length"}),
    "string_too_long": (N_("must be at most %(max)s characters"), {"max": "max_length"}),
    "greater_than_equal": (N_("must be at least %(min)s"), {"min": "ge"}),
    "less_than_equal": (N_("must be at most %(max)s"), {"max": "le"}),
    "greater_than": (N_("must be greater than %(min)s"), {"min": "gt"}),
    "less_than": (N_("must be less than %(max)s"), {"max": "lt"}),
    "too_short": (N_("must have at least %(min)s items"), {"min": "min_length"}),
    "too_long": (N_("must have at most %(max)s items"), {"max": "max_length"}),
    "string_pattern_mismatch": (N_("must match %(pattern)s"), {"pattern": "pattern"}),
    "literal_error": (N_("must be one of %(expected)s"), {"expected": "expected"}),
    "enum": (N_("must be one of %(expected)s"), {"expected": "expected"}),
    "date_type": (N_("must be a date as YYYY-MM-DD"), {}),
    "date_parsing": (N_("must be a date as YYYY-MM-DD"), {}),
    "date_from_datetime_parsing": (N_("must be a date as YYYY-MM-DD"), {}),
    "datetime_type": (N_("must be a date-time with a zone"), {}),
    "datetime_parsing": (N_("must be a date-time with a zone"), {}),
    "datetime_from_date_parsing": (N_("must be a date-time with a zone"), {}),
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
    code = "invalid." + kind  # pydantic's error type: stable across releases
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return ValidationError("must not be empty", field=where, code=code)
    if kind in _MESSAGES:
        msgid, names = _MESSAGES[kind]
        params = {name: ctx.get(key) for name, key in names.items()}
        return ValidationError(msgid, field=where, code=code, params=params)
    # pydantic's wording may change between releases; the code and the field do not.
    return ValidationError(
        "invalid value: %(reason)s",
        field=where,
        code=code,
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


def is_list(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (list, tuple):
        return True
    return any(is_list(arg) for arg in get_args(annotation) if arg is not type(None))


Q = TypeVar("Q", bound=Query)


def parse_query(model: type[Q]) -> Q:
    """The request's query string validated by ``model``; a 422 naming the parameter.

    An empty value (``?limit=``) counts as absent; a list field takes repeats and commas.
    """
    # A parameter's name on the wire is its field's alias when it has one (``from``).
    allowed = {field.alias or name: field for name, field in model.model_fields.items()}
    data: dict[str, Any] = {}
    for name in request.args:
        if name not in allowed:
            raise ValidationError(
                "unknown query parameter; allowed: %(allowed)s",
                field=name,
                code="unknown_query_parameter",
                params={"allowed": ", ".join(sorted(allowed)) or "-"},
            )
        if is_list(allowed[name].annotation):
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
