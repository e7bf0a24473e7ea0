"""JSON API v1: bearer tokens only, JSON in and out, one use case per write.

Every endpoint is declared through ``app.api.contract``: its query string and body are
validated by pydantic models, it calls one use case (``escalation.response`` for
anything that starts or stops a clock), and renders the result (``app.api.serialize``),
described by a response model. Errors are ``{"error": {"code", "message", "field",
"params"}}``: the app's handler renders every ``FenghuoError`` that way. The OpenAPI 3.1
document (``app.api.openapi``) is generated from the same declarations.
"""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("api", __name__)


@bp.before_request
def _authenticate() -> None:
    from app.api.auth import authenticate

    authenticate()


@bp.after_request
def _headers(response: Response) -> Response:
    if response.status_code == 401:
        # RFC 6750 §3: tell the client which scheme would work.
        response.headers["WWW-Authenticate"] = 'Bearer realm="fenghuo"'
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# The route modules register themselves on ``bp``; imported last, they can import it.
from app.api import (  # noqa: E402
    actions,
    clocks,
    grading,
    handoffs,
    incidents,
    intake,
    me,
    openapi,
    org,
    org_admin,
    receipts,
    reports,
    rosters,
    stats,
    trends,
)

__all__ = [
    "actions",
    "bp",
    "clocks",
    "grading",
    "handoffs",
    "incidents",
    "intake",
    "me",
    "openapi",
    "org",
    "org_admin",
    "receipts",
    "reports",
    "rosters",
    "stats",
    "trends",
]
