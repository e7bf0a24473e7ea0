"""Fixtures for the API tests: an app on a migrated database with the demo organisation,
and a client that speaks as any demo login through a real bearer token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.extensions import Services
from incidents.accounts import set_password
from incidents.audit import AuditEvent, system_actor
from incidents.clock import FrozenClock
from incidents.models import Incident
from incidents.org import Person, System
from incidents.tokens import create_token
from tests.conftest import TEST_SECRET, make_app

SECRET = TEST_SECRET
# What the directory must never show of a person.
PASSWORD_FIELDS = frozenset(
    {"password_hash", "password", "failed_logins", "locked_until", "last_failed_login_at"}
)


def services_of(app: Flask) -> Services:
    found: Services = app.extensions["fenghuo"]
    return found


class Api:
    """A test client that sends ``Authorization: Bearer`` for the login named by ``as_``."""

    def __init__(self, app: Flask, clock: FrozenClock) -> None:
        self.app = app
        self.clock = clock
        self.client: FlaskClient = app.test_client()
        # Every demo login gets its token up front: creating one is audited, and a test
        # that counts audit events must not count its own token.
        with services_of(app).sessions() as s, s.begin():
            logins = list(s.scalars(select(Person.login).order_by(Person.id)))
            self._tokens = {
                login: create_token(
                    s, login=login, name="tests", actor=system_actor("cli"), now=clock.now()
                )[0]
                for login in logins
            }

    def token(self, login: str) -> str:
        return self._tokens[login]

    def headers(self, login: str | None) -> dict[str, str]:
        return {} if login is None else {"Authorization": f"Bearer {self.token(login)}"}

    def call(self, method: str, path: str, *, as_: str | None = "duty", **kw: Any) -> TestResponse:
        headers = {**self.headers(as_), **kw.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> TestResponse:
        return self.call("PATCH", path, **kw)

    # --- the record, read directly ---------------------------------------------------

    def system_id(self, code: str) -> int:
        with services_of(self.app).sessions() as s:
            found = s.scalar(select(System.id).where(System.code == code))
        assert found is not None
        return found

    def person_id(self, login: str) -> int:
        with services_of(self.app).sessions() as s:
            found = s.scalar(select(Person.id).where(Person.login == login))
        assert found is not None
        return found

    def counts(self) -> tuple[int, int]:
        """(incidents, audit events): what a refused request must leave unchanged."""
        with services_of(self.app).sessions() as s:
            incidents = s.scalar(select(func.count()).select_from(Incident)) or 0
            events = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
        return incidents, events

    def set_password(self, login: str, password: str) -> None:
        with services_of(self.app).sessions() as s, s.begin():
            person = s.scalars(select(Person).where(Person.login == login)).one()
            set_password(
                s, person=person, password=password, actor=system_actor("cli"), now=self.clock.now()
            )

    def create(self, *, as_: str = "duty", **fields: Any) -> dict[str, Any]:
        """Log an incident through the API and return its JSON."""
        body = incident_body(**fields)
        reply = self.post("/incidents", json=body, as_=as_)
        assert reply.status_code == 201, reply.get_json()
        created: dict[str, Any] = reply.get_json()
        return created


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token of the login form, as a browser would read it from the page."""
    page = client.get("/login")
    assert page.status_code == 200
    found = CSRF_FIELD.search(page.get_data(as_text=True))
    assert found is not None, "the login form carries no csrf_token"
    return found.group(1)


def web_login(client: FlaskClient, login: str, password: str) -> TestResponse:
    """Submit the login form the way a browser does: fetch it, then post it with its token."""
    token = csrf_token(client)
    return client.post(
        "/login", data={"login": login, "password": password, "csrf_token": token, "next": ""}
    )


def incident_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "门户网站首页被篡改",
        "category": "network_attack",
        "detected_at": "2026-11-27T08:30:00+08:00",
    }
    body.update(fields)
    return body


@pytest.fixture
def app(
    sqlite_url: str, org: dict[str, Person], tmp_path: Path, clock: FrozenClock
) -> Iterator[Flask]:
    built = make_app(sqlite_url, tmp_path / "instance", clock)
    yield built
    services_of(built).engine.dispose()


@pytest.fixture
def any_app(
    db_url: str, any_org: dict[str, Person], tmp_path: Path, clock: FrozenClock
) -> Iterator[Flask]:
    built = make_app(db_url, tmp_path / "instance", clock)
    yield built
    services_of(built).engine.dispose()


@pytest.fixture
def api(app: Flask, clock: FrozenClock) -> Api:
    return Api(app, clock)


@pytest.fixture
def any_api(any_app: Flask, clock: FrozenClock) -> Api:
    return Api(any_app, clock)


def schema_problems(value: Any, ref: str, document: dict[str, Any]) -> list[str]:
    """Every way ``value`` fails the document's ``ref`` (``#/components/schemas/Incident``
    or a name), as ``path: message`` lines; the document is the root the refs resolve in.

    ``jsonschema`` with the 2020-12 dialect OpenAPI 3.1 uses, date-times checked."""
    from jsonschema import Draft202012Validator

    if not ref.startswith("#/"):
        ref = f"#/components/schemas/{ref}"
    validator = Draft202012Validator(
        {**document, "$ref": ref}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{error.json_path}: {error.message}"
        for error in sorted(validator.iter_errors(value), key=str)
    ]
