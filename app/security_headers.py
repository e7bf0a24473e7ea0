"""Security headers on every response of the web face and the API.

One small ``after_request`` rather than flask-talisman: Fenghuo needs five fixed headers,
and talisman's other halves (an HTTPS redirect, session cookie flags) are already the
reverse proxy's job and ``create_app``'s settings; talisman has had no release since
2023. The policy allows no inline script (the page script is ``static/fenghuo.js``) and
no framing at all, so the one-click action buttons cannot be framed (clickjacking).
Inline ``style`` attributes stay allowed: a few templates indent rows by depth with one.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


def init_security_headers(app: Flask, *, hsts: bool) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if hsts:
            # Production on an https:// FENGHUO_PUBLIC_URL only: a browser then refuses
            # plain http to this host for a year.
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
