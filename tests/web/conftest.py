"""Fixtures for the web face: an app on a migrated database with the demo organisation,
and a browser-like client that logs in with the form and posts with the page's CSRF
token, as a person's browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app.extensions import Services
from config.policy import Policy
from escalation.response import open_incident
from incidents.accounts import set_password
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.inputs import IncidentInput
from incidents.org import Department, Person, System
from tests.conftest import actor_for, make_app

PASSWORD = "correct horse battery"
LOGINS = ("duty", "cchead", "netsec", "director", "trafhead", "finhead", "trafstaff")
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def services_of(app: Flask) -> Services:
    found: Services = app.extensions["fenghuo"]
    return found


class Browser:
    """A test client that behaves like a person's browser on the web face."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self._token = ""

    def _remember(self, reply: TestResponse) -> TestResponse:
        if reply.mimetype != "text/html":
            return reply
        found = CSRF_META.search(reply.get_data(as_text=True))
        if found:
            self._token = found.group(1)
        return reply

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self._remember(self.client.get(path, **kw))

    def token(self) -> str:
        for page in ("/login", "/profile"):
            if not self._token:
                self.get(page)
        return self._token

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> TestResponse:
        body = {"csrf_token": self.token(), **(data or {})}
        return self._remember(self.client.post(path, data=body, **kw))

    def login(self, login: str, password: str = PASSWORD) -> TestResponse:
        self.get("/login")
        return self.post("/login", {"login": login, "password": password, "next": ""})

    def text(self, path: str) -> str:
        reply = self.get(path)
        assert reply.status_code == 200, (path, reply.status_code)
        return reply.get_data(as_text=True)


@pytest.fixture
def app(
    sqlite_url: str, org: dict[str, Person], tmp_path: Path, clock: FrozenClock
) -> Iterator[Flask]:
    built = make_app(sqlite_url, tmp_path / "instance", clock)
    with services_of(built).sessions() as s, s.begin():
        people = list(s.scalars(select(Person).where(Person.login.in_(LOGINS))))
        set_password(
            s, person=people[0], password=PASSWORD, actor=system_actor("cli"), now=clock.now()
        )
        for person in people[1:]:
            # One argon2 hash serves every login (a fresh hash per person per test would
            # cost more than the tests); the hash carries its own salt and parameters.
            person.password_hash = people[0].password_hash
    yield built
    services_of(built).engine.dispose()


@pytest.fixture
def sessions(app: Flask) -> sessionmaker[Session]:
    return services_of(app).sessions


@pytest.fixture
def policy(app: Flask) -> Policy:
    return services_of(app).policy


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app)


@pytest.fixture
def duty(browser: Browser) -> Browser:
    """The duty officer of the command center, logged in."""
    assert browser.login("duty").status_code == 302
    return browser


def as_(app: Flask, login: str) -> Browser:
    other = Browser(app)
    assert other.login(login).status_code == 302
    return other


def open_(
    app: Flask,
    org: dict[str, Person],
    *,
    grade: str,
    at: datetime,
    title: str = "门户网站被篡改",
    department: str = "traffic",
    system: str | None = None,
    detected_at: datetime | None = None,
) -> int:
    """Open an incident through the escalation use case, as the duty officer."""
    factory = services_of(app).sessions
    with factory() as s:
        dept = s.scalars(select(Department.id).where(Department.code == department)).one()
        systems = (
            [s.scalars(select(System.id).where(System.code == system)).one()] if system else []
        )
    data = IncidentInput.parse(
        {
            "title": title,
            "category": "network_attack",
            "grade": grade,
            "detected_at": (detected_at or at).isoformat(),
            "responsible_department_id": dept,
            "system_ids": systems,
        }
    )
    with factory() as s, s.begin():
        incident = open_incident(
            s, data=data, actor=actor_for(org["duty"]), now=at, policy=services_of(app).policy
        )
        return incident.id
