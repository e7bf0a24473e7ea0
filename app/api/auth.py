"""Who is calling the API: a bearer token, and nothing else.

The API is exempt from CSRF protection, so it must not honour the browser's session
cookie: a page on another site could otherwise make a logged-in browser call it. A
request with a cookie and no token is refused with a message that says so, rather than
a bare 401, because the usual cause is a developer trying the API from a browser tab.
"""

from __future__ import annotations

from flask import current_app, g, request

from app.api.errors import Unauthorized
from app.auth import AppUser
from app.extensions import db, now, writing
from incidents.audit import Actor
from incidents.errors import Forbidden
from incidents.permissions import Capabilities
from incidents.tokens import caller_for, note_use

# Endpoints anyone may read: the description of the API is not data.
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})
# The only endpoints a token of scope "intake" (a monitoring system's) may call.
INTAKE_ENDPOINTS = frozenset({"api.intake_alertmanager", "api.intake_webhook"})


def _has_cookie_credentials() -> bool:
    config = current_app.config
    names = (
        config.get("SESSION_COOKIE_NAME", "session"),
        config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    )
    return any(name in request.cookies for name in names)


def authenticate() -> None:
    """Resolve the bearer token into the request's user, or raise :class:`Unauthorized`.

    Runs before every API view. On success ``api_user()`` is the token's person, and
    Flask-Login's ``current_user`` is the same person (never the cookie's). A token of
    scope ``intake`` gets a 403 anywhere but the intake endpoints.
    """
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization")
    if header is None:
        if _has_cookie_credentials():
            raise Unauthorized(
                "cookie authentication is not accepted on the API; "
                "send Authorization: Bearer <token>",
                field="Authorization",
                code="cookie_not_accepted",
            )
        raise Unauthorized(
            "authentication required: send Authorization: Bearer <token>",
            field="Authorization",
        )
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            "the Authorization header must be 'Bearer <token>'", field="Authorization"
        )
    session = db()
    found = caller_for(session, token, now=now())
    if found is None:
        session.rollback()
        raise Unauthorized("unknown or revoked token", field="Authorization", code="invalid_token")
    if found.noted:
        # ``last_used_at``, once a minute, in a transaction of its own, so that a view
        # that only reads (a GET's session writes nothing), or fails, does not take it
        # back; the view then begins anew.
        with writing() as written:
            note_use(written, found.token_id, now=now())
    # Otherwise the view continues this transaction: what was checked is what it writes.
    user = AppUser.of(found.person)
    scope = found.scope
    if scope == "intake" and request.endpoint not in INTAKE_ENDPOINTS:
        raise Forbidden(
            "this token may only post monitoring alerts (/api/v1/intake/...)",
            field="Authorization",
            code="token_scope_intake",
        )
    g.api_user = user
    g.api_scope = scope
    # The request's one permission computation (``AppUser.caps`` reads it from here; the
    # use cases' guards get it through ``actor()``).
    g.caps = found.caps
    # Held for the request, so the person stays in the session's identity map: a use
    # case's reference to them (a new incident's reporter) is found there, not queried.
    g.api_person = found.person
    g.login_via_request = True
    # Flask-Login keeps the request's user here; setting it keeps ``current_user`` (used
    # by the locale selector) on the token's person even when a cookie came along.
    g._login_user = user


def api_user() -> AppUser:
    user: AppUser | None = g.get("api_user")
    if user is None:  # a view registered without going through ``authenticate``
        raise Unauthorized("authentication required", field="Authorization")
    return user


def caps() -> Capabilities:
    return api_user().caps()


def token_scope() -> str:
    """The calling token's scope (``incidents.tokens.SCOPES``)."""
    api_user()
    return str(g.get("api_scope", "full"))


def actor() -> Actor:
    """The caller as the use cases' actor, carrying the request's capabilities (computed
    once per request, in the transaction the use case continues) so the use case's guard
    does not compute them again."""
    user = api_user()
    return Actor(user.person_id, user.login, "api", caps=user.caps())
