"""The web login: CSRF-protected form, per-address throttle, lockout kept in the database
(issue 2, item 6)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.auth.views import throttle
from config.settings import load_settings
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.api.conftest import Api, make_app, services_of, web_login

PASSWORD = "correct horse battery"
MAX_FAILURES = 5  # FENGHUO_LOGIN_MAX_FAILURES default
LOCKOUT = timedelta(seconds=900)  # FENGHUO_LOGIN_LOCKOUT_SECONDS default


def fail(client: FlaskClient, login: str, times: int) -> list[int]:
    return [web_login(client, login, "wrong password").status_code for _ in range(times)]


def test_the_defaults_are_what_these_tests_assume() -> None:
    settings = load_settings(
        {
            "FENGHUO_SECRET_KEY": "x" * 32,
            "FENGHUO_ENV": "test",
            "FENGHUO_DATABASE_URL": "sqlite:///:memory:",
        }
    )
    assert settings.login_max_failures == MAX_FAILURES
    assert settings.login_lockout_seconds == LOCKOUT.total_seconds()


def test_it_logs_in_with_the_right_password(any_api: Api) -> None:
    any_api.set_password("duty", PASSWORD)
    reply = web_login(any_api.client, "duty", PASSWORD)
    assert reply.status_code == 302
    assert any_api.client.get("/").status_code == 200


def test_it_refuses_a_wrong_password(api: Api) -> None:
    api.set_password("duty", PASSWORD)
    assert web_login(api.client, "duty", "wrong password").status_code == 401


def test_it_refuses_a_login_form_without_its_csrf_token(api: Api) -> None:
    api.set_password("duty", PASSWORD)
    reply = api.client.post("/login", data={"login": "duty", "password": PASSWORD})
    assert reply.status_code == 400
    assert api.client.get("/").status_code == 302  # still not logged in


def test_it_locks_the_account_after_repeated_failures(any_api: Api) -> None:
    any_api.set_password("duty", PASSWORD)
    assert fail(any_api.client, "duty", MAX_FAILURES) == [401] * (MAX_FAILURES - 1) + [423]


def test_a_locked_account_refuses_even_the_right_password(any_api: Api) -> None:
    any_api.set_password("duty", PASSWORD)
    fail(any_api.client, "duty", MAX_FAILURES)
    assert web_login(any_api.client, "duty", PASSWORD).status_code == 423


def test_the_lockout_survives_a_new_app_instance(
    any_api: Api, db_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    any_api.set_password("duty", PASSWORD)
    fail(any_api.client, "duty", MAX_FAILURES)
    throttle.reset()
    fresh: Flask = make_app(db_url, tmp_path / "other-instance", clock)
    try:
        reply = web_login(fresh.test_client(), "duty", PASSWORD)
    finally:
        services_of(fresh).engine.dispose()
    assert reply.status_code == 423


def test_the_lockout_ends_after_its_time(api: Api) -> None:
    api.set_password("duty", PASSWORD)
    fail(api.client, "duty", MAX_FAILURES)
    api.clock.advance(LOCKOUT - timedelta(seconds=1))
    assert web_login(api.client, "duty", PASSWORD).status_code == 423
    api.clock.advance(timedelta(seconds=2))
    assert web_login(api.client, "duty", PASSWORD).status_code == 302


def test_a_success_resets_the_failure_count(api: Api) -> None:
    api.set_password("duty", PASSWORD)
    fail(api.client, "duty", MAX_FAILURES - 1)
    assert web_login(api.client, "duty", PASSWORD).status_code == 302
    # The success reset the count kept on the person, so four more failures do not lock
    # (a second browser only because the logged-in one is sent away from the form).
    assert fail(api.app.test_client(), "duty", MAX_FAILURES - 1) == [401] * (MAX_FAILURES - 1)


def test_the_lock_is_kept_on_the_person_row(api: Api) -> None:
    api.set_password("duty", PASSWORD)
    fail(api.client, "duty", MAX_FAILURES)
    with services_of(api.app).sessions() as s:
        person = s.scalars(select(Person).where(Person.login == "duty")).one()
    assert person.locked_until == api.clock.now() + LOCKOUT


def test_it_throttles_many_attempts_from_one_address(api: Api) -> None:
    # An unknown login, so that the lockout cannot be what stops it.
    codes = [web_login(api.client, "nobody", "guess").status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
