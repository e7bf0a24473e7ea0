"""The web login (issue 12): one answer and one cost for every failure, a growing delay
per account, a per-address limit kept in the database, the client address from trusted
proxies only, every failure audited."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from config.settings import load_settings
from incidents.accounts import login_delay
from incidents.audit import AuditEvent
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.api.conftest import Api, services_of, web_login
from tests.conftest import TEST_SECRET

PASSWORD = "correct horse battery"
MAX_FAILURES = 5  # FENGHUO_LOGIN_MAX_FAILURES default: failures before any delay
CAP = timedelta(seconds=900)  # FENGHUO_LOGIN_LOCKOUT_SECONDS default: the longest delay
FAILED = "账号或密码错误，或失败次数过多"  # zh_CN, the default language


def _build(url: str, instance: Path, clock: FrozenClock, **env: str) -> Flask:
    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": url,
            "FENGHUO_INSTANCE_PATH": str(instance),
            "FENGHUO_ENV": "test",
            "FENGHUO_SECRET_KEY": TEST_SECRET,
            **env,
        }
    )
    return create_app(settings, clock=clock, overrides={"TESTING": True})


@pytest.fixture
def built(sqlite_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[list[Flask]]:
    apps: list[Flask] = []
    yield apps
    for app in apps:
        services_of(app).engine.dispose()


def fail(client: FlaskClient, login: str, times: int) -> list[int]:
    return [web_login(client, login, "wrong password").status_code for _ in range(times)]


def _events(api: Api, kind: str) -> list[AuditEvent]:
    with services_of(api.app).sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_it_logs_in_with_the_right_password(any_api: Api) -> None:
    any_api.set_password("duty", PASSWORD)
    reply = web_login(any_api.client, "duty", PASSWORD)
    assert reply.status_code == 302
    assert any_api.client.get("/").status_code == 200


def test_it_refuses_a_login_form_without_its_csrf_token(api: Api) -> None:
    api.set_password("duty", PASSWORD)
    reply = api.client.post("/login", data={"login": "duty", "password": PASSWORD})
    assert reply.status_code == 400
    assert api.client.get("/").status_code == 302  # still not logged in


def test_an_unknown_login_a_wrong_password_and_a_waiting_account_answer_alike(
    api: Api,
) -> None:
    api.set_password("duty", PASSWORD)
    fail(api.client, "duty", MAX_FAILURES)  # duty must now wait
    replies = [
        web_login(api.app.test_client(), "nobody", "guess"),
        web_login(api.app.test_client(), "netsec", "wrong password"),
        web_login(api.app.test_client(), "duty", PASSWORD),
    ]
    assert [r.status_code for r in replies] == [401, 401, 401]
    assert all(FAILED in r.get_data(as_text=True) for r in replies)
    # Only the per-browser CSRF tokens differ.
    bodies = {re.sub(r'="[\w.-]{40,}"', "", r.get_data(as_text=True)) for r in replies}
    assert len(bodies) == 1  # nothing else on the page tells them apart


def test_the_delay_grows_from_one_second_and_is_capped() -> None:
    delays = [login_delay(n, free_failures=5, max_delay=CAP) for n in range(4, 17)]
    assert delays[:4] == [
        timedelta(0),
        timedelta(seconds=1),
        timedelta(seconds=2),
        timedelta(seconds=4),
    ]
    assert delays[-1] == CAP


def test_an_account_waits_after_repeated_failures_then_logs_in(any_api: Api) -> None:
    any_api.set_password("duty", PASSWORD)
    assert fail(any_api.client, "duty", MAX_FAILURES) == [401] * MAX_FAILURES
    assert web_login(any_api.client, "duty", PASSWORD).status_code == 401  # still waiting
    any_api.clock.advance(timedelta(seconds=2))
    assert web_login(any_api.client, "duty", PASSWORD).status_code == 302


def test_five_wrong_passwords_no_longer_lock_anyone_out_for_minutes(api: Api) -> None:
    api.set_password("duty", PASSWORD)

    def wait() -> timedelta:
        with services_of(api.app).sessions() as s:
            person = s.scalars(select(Person).where(Person.login == "duty")).one()
        assert person.locked_until is not None
        return person.locked_until - api.clock.now()

    fail(api.client, "duty", MAX_FAILURES + 3)  # tries while waiting are not counted
    assert wait() == timedelta(seconds=1)
    api.clock.advance(timedelta(seconds=1))
    fail(api.client, "duty", 1)
    assert wait() == timedelta(seconds=2)


def test_the_delay_survives_a_new_app_instance(
    any_api: Api, db_url: str, tmp_path: Path, clock: FrozenClock, built: list[Flask]
) -> None:
    any_api.set_password("duty", PASSWORD)
    fail(any_api.client, "duty", MAX_FAILURES)
    built.append(_build(db_url, tmp_path / "other", clock))
    assert web_login(built[0].test_client(), "duty", PASSWORD).status_code == 401


def test_failed_logins_are_audited_known_or_not(api: Api) -> None:
    api.set_password("duty", PASSWORD)
    fail(api.client, "duty", 1)
    web_login(api.client, "nobody", "guess")
    events = _events(api, "account.login_failed")
    assert [(e.actor_login, e.payload["reason"]) for e in events] == [
        ("duty", "password"),
        ("nobody", "unknown login"),
    ]


def test_the_address_limit_is_shared_by_every_worker(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock, built: list[Flask]
) -> None:
    one = _build(sqlite_url, tmp_path / "a", clock, FENGHUO_LOGIN_ADDRESS_LIMIT="3")
    two = _build(sqlite_url, tmp_path / "b", clock, FENGHUO_LOGIN_ADDRESS_LIMIT="3")
    built += [one, two]
    codes = [
        web_login(app.test_client(), "nobody", "guess").status_code
        for app in (one, two, one, two, one)
    ]
    assert codes == [401, 401, 401, 429, 429]
    clock.advance(timedelta(seconds=601))
    assert web_login(two.test_client(), "nobody", "guess").status_code == 401


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock, built: list[Flask]
) -> None:
    proxied = _build(
        sqlite_url,
        tmp_path / "p",
        clock,
        FENGHUO_LOGIN_ADDRESS_LIMIT="2",
        FENGHUO_TRUSTED_PROXIES="1",
    )
    built.append(proxied)

    def attempt(client_ip: str) -> int:
        client = proxied.test_client()
        env = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": client_ip}
        page = client.get("/login", environ_base=env).get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        return client.post(
            "/login",
            data={"login": "nobody", "password": "x", "csrf_token": token},
            environ_base=env,
        ).status_code

    assert [attempt("192.0.2.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("192.0.2.2") == 401


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock, built: list[Flask]
) -> None:
    direct = _build(sqlite_url, tmp_path / "d", clock, FENGHUO_LOGIN_ADDRESS_LIMIT="2")
    built.append(direct)
    codes = []
    for n in range(3):
        client = direct.test_client()
        env = {"HTTP_X_FORWARDED_FOR": f"192.0.2.{n}"}  # spoofed, and ignored
        page = client.get("/login", environ_base=env).get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        codes.append(
            client.post(
                "/login",
                data={"login": "nobody", "password": "x", "csrf_token": token},
                environ_base=env,
            ).status_code
        )
    assert codes == [401, 401, 429]


def test_login_takes_the_same_time_whether_or_not_the_account_exists(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock, built: list[Flask], api: Api
) -> None:
    api.set_password("duty", PASSWORD)
    app = _build(sqlite_url, tmp_path / "t", clock, FENGHUO_LOGIN_ADDRESS_LIMIT="1000")
    built.append(app)

    def once(login: str) -> float:
        client = app.test_client()
        started = time.perf_counter()
        assert web_login(client, login, "wrong password").status_code == 401
        return time.perf_counter() - started

    once("nobody")  # warm up
    # Interleaved, so that the load of the machine falls on both alike.
    pairs = [(once("nobody"), once("duty")) for _ in range(20)]
    unknown = statistics.median(p[0] for p in pairs)
    known = statistics.median(p[1] for p in pairs)
    assert abs(unknown - known) / max(unknown, known) < 0.20, (unknown, known)
