"""Errors only the API face raises; the app's handler renders every ``FenghuoError``.

The domain errors (``incidents.errors``) cover 403, 404, 409 and 422. What is left is
about the HTTP envelope itself: who is calling (401), how the body is encoded (415) and
whether it can be read at all (400).
"""

from __future__ import annotations

from incidents.errors import FenghuoError


class Unauthorized(FenghuoError):
    """No usable credentials: no bearer token, an unknown or revoked one, or a cookie."""

    status = 401
    code = "unauthorized"


class UnsupportedMediaType(FenghuoError):
    """A body that is not ``application/json``."""

    status = 415
    code = "unsupported_media_type"


class MalformedBody(FenghuoError):
    """A body that is not JSON at all (as opposed to JSON with a wrong field: 422)."""

    status = 400
    code = "malformed_json"
