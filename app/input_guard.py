"""Inputs no face accepts, refused before any view runs (a 422 naming the field).

- A NUL character in a query parameter, a form field or a JSON string: PostgreSQL
  cannot store it in text, and no Fenghuo text needs it.
- An integer id beyond what the database stores (ids are 32-bit on PostgreSQL): in the
  path it is a 404 (no such thing), in a query or a body a 422.

Everything else about a field (type, length, choice) is the use cases' parsers' job.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from incidents.errors import ValidationError

MAX_ID = 2**31 - 1  # PostgreSQL integer
MAX_INTEGER = 2**53 - 1  # the largest integer every JSON client reads exactly


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: an id past MAX_ID is a 404 for that route (not a
    database overflow, and not a fall-through to another route's 405)."""

    def to_python(self, value: str) -> int:
        number = int(value[:13])
        if len(value) > 12 or number > MAX_ID:
            raise NotFound(f"no such id: at most {MAX_ID}")
        return number


def install_id_converter(app: Flask) -> None:
    """Before any route is added: every ``<int:…>`` becomes an :class:`IdConverter`."""
    app.url_map.converters["int"] = IdConverter


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids"))


def check_json(value: Any, field: str = "", *, id_field: bool = False) -> None:
    """Walk a decoded JSON body; 422 naming the first NUL-bearing string or an integer
    out of range (ids to MAX_ID, other integers to MAX_INTEGER)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError("must not contain a NUL character", field=field or None)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        limit = MAX_ID if id_field else MAX_INTEGER
        if not -limit <= value <= limit:
            raise ValidationError(
                "must be at most %(max)s",
                field=field or None,
                code="too_large",
                params={"max": limit},
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise ValidationError("a field name must not contain a NUL character")
            name = f"{field}.{key}" if field else str(key)
            check_json(item, name, id_field=_is_id(str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{field}[{i}]", id_field=id_field)


def _refuse_nul() -> None:
    for source in (request.args, request.form):
        for name, raw in source.items(multi=True):
            if "\x00" in name or "\x00" in raw:
                raise ValidationError("must not contain a NUL character", field=name)
    for name, raw in (request.view_args or {}).items():
        if isinstance(raw, str) and "\x00" in raw:
            raise ValidationError("must not contain a NUL character", field=name)


def init_input_guard(app: Flask) -> None:
    app.before_request(_refuse_nul)
