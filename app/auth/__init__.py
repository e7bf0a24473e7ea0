"""Who is asking: Flask-Login sessions for people, bearer tokens for machines.

The two never cross. The API accepts bearer tokens only (``app.api.auth``); a request
that arrives with just a session cookie is refused there, so that the CSRF-exempt API
cannot be driven by a logged-in browser. Web pages accept the session only: a token
stolen from a script must not open the pages where a person links their Telegram
account. Requests to the API never receive a session cookie.

A session is a row on the server (``incidents.sessions``): the cookie holds its random
token, and the person is loaded only while that row is live, so logout, a password
change and "sign out everywhere" end it for every copy of the cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext
from flask_login import LoginManager, UserMixin

from app.extensions import db, now
from incidents.org import Person
from incidents.permissions import Capabilities, capabilities
from incidents.sessions import WebSession, live_session

# The key in the signed cookie that holds the server-side session's token.
SESSION_TOKEN = "sid"  # noqa: S105  (a key name, not a secret)

login_manager = LoginManager()


@dataclass
class AppUser(UserMixin):  # type: ignore[misc]
    """The logged-in person as the faces see them."""

    person_id: int
    login: str
    name: str
    language: str
    is_admin: bool

    def get_id(self) -> str:
        return str(self.person_id)

    @classmethod
    def of(cls, person: Person) -> AppUser:
        return cls(person.id, person.login, person.name, person.language, person.is_admin)

    def caps(self) -> Capabilities:
        """Capabilities at this moment, computed once per request."""
        cached: Capabilities | None = g.get("caps")
        if cached is None or cached.person_id != self.person_id:
            person = db().get(Person, self.person_id)
            assert person is not None
            cached = capabilities(db(), person, now())
            g.caps = cached
        return cached


@login_manager.user_loader
def _load_user(user_id: str) -> AppUser | None:
    if not user_id.isdigit():
        return None
    web_session = live_session(db(), str(session.get(SESSION_TOKEN, "")))
    if web_session is None or web_session.person_id != int(user_id):
        return None
    person = db().get(Person, int(user_id))
    if person is None or not person.active:
        return None
    g.web_session = web_session
    return AppUser.of(person)


def current_web_session() -> WebSession | None:
    """The server-side row of the request's session (after the user was loaded)."""
    found: WebSession | None = g.get("web_session")
    return found


class _NoCookieForTokens(SecureCookieSessionInterface):
    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if g.get("login_via_request") or request.path.startswith("/api/"):
            return
        super().save_session(app, session, response)


def init_auth(app: Flask, *, trusted_proxies: int = 0) -> None:
    """Sessions for the web face; behind ``trusted_proxies`` reverse proxies, the client
    address and scheme are taken from their ``X-Forwarded-For``/``-Proto`` (ProxyFix
    trusts exactly that many hops, so a client cannot spoof its address past them)."""
    if trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies
        )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login's own words, in the reader's language: flashed as plain text (the lazy
    # string is rendered by localize_callback before it goes into the session).
    login_manager.login_message = lazy_gettext("Please log in to access this page.")
    login_manager.login_message_category = "info"
    login_manager.localize_callback = str
    login_manager.session_protection = "strong"
    app.session_interface = _NoCookieForTokens()


def local_time(value: datetime | None) -> str:
    from app.extensions import services

    if value is None:
        return ""
    return value.astimezone(services().policy.tz).strftime("%Y-%m-%d %H:%M")
