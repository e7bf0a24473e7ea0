"""Reading request bodies and query strings with the API's error contract.

- a body that is not ``application/json`` is 415;
- a body that is not JSON at all is 400 (``malformed_json``);
- JSON with an unknown field, a wrong type or a bad value is 422 naming the field —
  the use cases' parsers (``incidents.inputs``) report those; this module does the same
  for query parameters, so that a misspelt filter is an error and not a silent no-op.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from flask import request

from app.api.errors import MalformedBody, UnsupportedMediaType
from app.input_guard import MAX_ID, check_json
from incidents.errors import ValidationError
from incidents.inputs import parse_datetime

JSON_MIMETYPE = "application/json"


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them.
    raise ValueError(f"{name} is not a JSON value")


def json_body(*, optional: bool = False) -> Any:
    """The decoded JSON body; ``{}`` for an absent body when ``optional``."""
    raw = request.get_data(cache=True)
    if not raw.strip() and optional and not request.mimetype:
        return {}
    if request.mimetype != JSON_MIMETYPE:
        raise UnsupportedMediaType(
            f"send the body as {JSON_MIMETYPE} (got {request.mimetype or 'no content type'})",
            field="Content-Type",
        )
    if not raw.strip():
        if optional:
            return {}
        raise MalformedBody(
            "the request needs a JSON object as its body", field=None, code="empty_body"
        )
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("JSON bodies must be UTF-8", field="Content-Type")
    try:
        text = raw.decode("utf-8")
        decoded = json.loads(text, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise MalformedBody("the body is not valid UTF-8") from None
    except ValueError as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from None
    check_json(decoded)  # NUL characters and integers past what the database stores
    return decoded


def check_query(allowed: Collection[str]) -> None:
    """Refuse query parameters the endpoint does not know (422 naming the parameter)."""
    for name in request.args:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ValidationError(f"unknown query parameter; allowed: {known}", field=name)


def query_list(name: str) -> tuple[str, ...]:
    """A multi-valued parameter: repeated (``?grade=a&grade=b``) or comma-separated."""
    values: list[str] = []
    for raw in request.args.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return tuple(dict.fromkeys(values))


def query_int(
    name: str, *, default: int | None = None, minimum: int = 1, maximum: int | None = None
) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ValidationError("must be a positive integer", field=name)
    upper = MAX_ID if maximum is None else maximum
    value = int(raw[:12])  # more digits than that is out of range anyway
    if len(raw) > 12 or value < minimum or value > upper:
        raise ValidationError(f"must be between {minimum} and {upper}", field=name)
    return value


def query_datetime(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if "T" in raw and " " in raw:
        # An unencoded "+08:00" arrives as " 08:00" (form encoding reads + as a space);
        # after the "T" no space is legitimate, so put the sign back.
        raw = raw.replace(" ", "+")
    return parse_datetime(raw, name)


def query_bool(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValidationError("must be true or false", field=name)


def only_one_of(names: Iterable[str]) -> str:
    """The one parameter of ``names`` that was given; 422 if none or several."""
    given = [name for name in names if request.args.get(name)]
    listed = " or ".join(names)
    if len(given) != 1:
        raise ValidationError(
            f"give exactly one of {listed}", field=given[1] if len(given) > 1 else listed
        )
    return given[0]


def body_object(data: Any, allowed: Collection[str]) -> dict[str, Any]:
    """``data`` as a JSON object holding only ``allowed`` keys (else 422 naming the key)."""
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object", field=None)
    for key in data:
        if key not in allowed:
            raise ValidationError(
                f"unknown field; allowed: {', '.join(sorted(allowed)) or 'none'}", field=key
            )
    return data


def optional_text(data: dict[str, Any], name: str, *, max_len: int = 2000) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=name)
    if len(value) > max_len:
        raise ValidationError(f"must be at most {max_len} characters", field=name)
    return value.strip()


def required_text(data: dict[str, Any], name: str, *, max_len: int = 2000) -> str:
    value = optional_text(data, name, max_len=max_len)
    if not value:
        raise ValidationError("is required", field=name)
    return value
