"""Who is asking: Flask-Login sessions for people, bearer tokens for machines.

The API accepts bearer tokens only; a request that arrives with just a session cookie is
refused there, so that the CSRF-exempt API cannot be driven by a logged-in browser.
Requests authenticated by a token never receive a session cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, Request, Response, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, user_loaded_from_request

from app.extensions import db, now
from incidents.org import Person
from incidents.permissions import Capabilities, capabilities
from incidents.tokens import person_for_token

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
    person = db().get(Person, int(user_id))
    if person is None or not person.active:
        return None
    return AppUser.of(person)


@login_manager.request_loader
def _load_from_request(req: Request) -> AppUser | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header.removeprefix("Bearer ").strip()
    if not token:
        return None
    session = db()
    person = person_for_token(session, token, now=now())
    if person is None:
        return None
    session.commit()
    return AppUser.of(person)


@user_loaded_from_request.connect
def _mark_token_login(_app: Any, user: AppUser | None = None) -> None:
    g.login_via_request = True


class _NoCookieForTokens(SecureCookieSessionInterface):
    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if g.get("login_via_request") or request.path.startswith("/api/"):
            return
        super().save_session(app, session, response)


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    app.session_interface = _NoCookieForTokens()


def local_time(value: datetime | None) -> str:
    from app.extensions import services

    if value is None:
        return ""
    return value.astimezone(services().policy.tz).strftime("%Y-%m-%d %H:%M")
