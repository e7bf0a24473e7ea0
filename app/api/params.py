"""Reading a request's JSON body with the API's error contract, before any model sees it.

- a body that is not ``application/json`` is 415;
- a body that is not JSON at all is 400 (``malformed_json``);
- NUL characters and integers past what the database stores are a 422 naming the field.

What the JSON must hold — fields, types, values — is the models' job
(``app.api.contract``), and so are query strings (``validation.parse_query``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from app.api.errors import MalformedBody, UnsupportedMediaType
from app.input_guard import check_json
from incidents.errors import ValidationError

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
            "send the body as %(wanted)s (got %(got)s)",
            field="Content-Type",
            params={"wanted": JSON_MIMETYPE, "got": request.mimetype or "-"},
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
        raise MalformedBody(
            "the body is not valid JSON: %(reason)s", params={"reason": str(exc)}
        ) from None
    try:
        check_json(decoded)  # NUL characters and integers past what the database stores
    except ValidationError as exc:
        if exc.field:
            raise
        # A NUL in a field's name: the name cannot be the field, so the body is at fault.
        raise ValidationError(exc.msgid, field="body", code=exc.code, params=exc.params) from None
    return decoded
