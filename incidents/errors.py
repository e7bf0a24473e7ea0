"""Errors every layer raises and every face renders the same way.

An error carries a stable ``code``, the ``field`` at fault and ``params``; its message is an
English *msgid* with ``%(name)s`` placeholders filled from ``params``. The layers below the
app never translate: a face looks the msgid up in the reader's catalogue
(``app.i18n.error_message``) and fills in the same params. pybabel extracts the msgids from
the raise sites (the error classes are extraction keywords, see ``babel.cfg``), and a test
checks that every one has its Chinese.

A face maps these to ``{"error": {"code", "message", "field", "params"}}`` with the status
below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping


def _identity(text: str) -> str:
    return text


def N_(msgid: str) -> str:  # noqa: N802 - the name gettext tools know
    """Mark ``msgid`` for extraction where it is written apart from the error that carries it
    (a table of reasons, a constant); the face translates it when it renders the error."""
    return msgid


class FenghuoError(Exception):
    """Base of the domain errors: a code, a message msgid, params and, where known, a field."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.msgid = message
        self.params: dict[str, object] = dict(params or {})
        self.field = field
        if code is not None:
            self.code = code
        self.message = self.render()
        super().__init__(self.message)

    def render(self, translate: Callable[[str], str] = _identity) -> str:
        """The message in the language ``translate`` looks it up in (English by default).

        A text param shown with ``%(name)s`` is looked up too: the words a raise site passes
        in ("close incidents", marked for extraction where they are written) come out in the
        same language, and anything the catalogue does not know (a login, a number) as it is.
        ``params`` themselves stay as raised.
        """
        text = translate(self.msgid)
        if not self.params:
            return text
        as_text = _as_text(text)
        shown = {
            key: translate(value) if isinstance(value, str) and value and key in as_text else value
            for key, value in self.params.items()
        }
        try:
            return text % shown
        except (KeyError, TypeError, ValueError):
            # A translation with a broken placeholder must not hide the error itself.
            return self.msgid % self.params

    def to_dict(self, translate: Callable[[str], str] = _identity) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.render(translate),
            "field": self.field,
            "params": {key: _plain(value) for key, value in self.params.items()},
        }


_TEXT_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _as_text(message: str) -> set[str]:
    """The names of the params ``message`` shows as text (``%(name)s``, not ``%(name)r``)."""
    return set(_TEXT_PLACEHOLDER.findall(message))


def _plain(value: object) -> object:
    """Params as JSON can carry them: scalars as they are, anything else as text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class ValidationError(FenghuoError, ValueError):
    """Input that cannot be accepted: unknown field, wrong type, bad value (HTTP 422)."""

    status = 422
    code = "invalid"


class NotFound(FenghuoError):
    status = 404
    code = "not_found"


class Forbidden(FenghuoError):
    status = 403
    code = "forbidden"


class Conflict(FenghuoError):
    """The state changed under the caller, or the transition is not allowed now (HTTP 409)."""

    status = 409
    code = "conflict"
