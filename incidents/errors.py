"""Errors every layer raises and every face renders the same way.

A face maps these to ``{"error": {"code", "message", "field"}}`` with the status below;
the message is already user-readable, and ``field`` names the input at fault.
"""

from __future__ import annotations


class FenghuoError(Exception):
    """Base of the domain errors: a code, a readable message and, where known, a field."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "field": self.field}


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
