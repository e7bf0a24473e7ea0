"""Fixtures for the accountability tests: the demo bureau on a migrated database, and an
app with the accountability faces registered (once), spoken to by bearer token (API) or
through a logged-in browser session (web)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from incidents.accounts import set_password
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from incidents.tokens import create_token
from tests.accountability.support import Bureau
from tests.conftest import make_app

PASSWORD = "correct horse battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def bureau(factory: sessionmaker[Session], org: dict[str, Person]) -> Bureau:
    return Bureau(factory, org)


@pytest.fixture
def any_bureau(any_factory: sessionmaker[Session], any_org: dict[str, Person]) -> Bureau:
    """The bureau on SQLite and on PostgreSQL (a test using it runs on both)."""
    return Bureau(any_factory, any_org)


@pytest.fixture
def app(
    sqlite_url: str, org: dict[str, Person], tmp_path: Path, clock: FrozenClock
) -> Iterator[Flask]:
    built = make_app(sqlite_url, tmp_path / "instance", clock)
    yield built
    built.extensions["fenghuo"].engine.dispose()


class Api:
    """Speaks to the API as any demo login through a real bearer token."""

    def __init__(self, app: Flask, clock: FrozenClock) -> None:
        self.client: FlaskClient = app.test_client()
        with app.extensions["fenghuo"].sessions() as s, s.begin():
            logins = list(s.scalars(select(Person.login)))
            self.tokens = {
                login: create_token(
                    s, login=login, name="tests", actor=system_actor("cli"), now=clock.now()
                )[0]
                for login in logins
            }

    def call(self, method: str, path: str, *, as_: str, **kw: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.tokens[as_]}"}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kw)

    def get(self, path: str, *, as_: str) -> TestResponse:
        return self.call("GET", path, as_=as_)

    def post(self, path: str, body: object = None, *, as_: str) -> TestResponse:
        return self.call("POST", path, as_=as_, json={} if body is None else body)


@pytest.fixture
def api(app: Flask, clock: FrozenClock) -> Api:
    return Api(app, clock)


class Browser:
    """A logged-in person's browser on the web face, posting with the page's CSRF token."""

    def __init__(self, app: Flask) -> None:
        self.client: FlaskClient = app.test_client()
        self.token = ""

    def get(self, path: str) -> TestResponse:
        reply = self.client.get(path)
        found = CSRF_META.search(reply.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return reply

    def post(self, path: str, data: dict[str, Any]) -> TestResponse:
        if not self.token:
            self.get("/login")
        return self.client.post(path, data={"csrf_token": self.token, **data})

    def login(self, login: str) -> Browser:
        self.get("/login")
        reply = self.post("/login", {"login": login, "password": PASSWORD, "next": ""})
        assert reply.status_code == 302, reply.get_data(as_text=True)
        self.token = ""
        return self


@pytest.fixture
def browser_as(app: Flask, clock: FrozenClock) -> Any:
    def login(name: str) -> Browser:
        with app.extensions["fenghuo"].sessions() as s, s.begin():
            person = s.scalars(select(Person).where(Person.login == name)).one()
            set_password(
                s, person=person, password=PASSWORD, actor=system_actor("cli"), now=clock.now()
            )
        return Browser(app).login(name)

    return login
