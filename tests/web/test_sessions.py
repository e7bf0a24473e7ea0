"""Sessions on the server and the closed token-to-Telegram path (issue 12).

A bearer token opens the API only, never a page; the Telegram link code is shown only
to the person's own session with a recent password; logout, a password change and
"sign out everywhere" end sessions for every copy of the cookie.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from escalation.telegram.actions import BotActions
from escalation.telegram.bot import PollingBot, build_application
from escalation.telegram.linking import linked_person
from incidents.accounts import set_password
from incidents.audit import AuditEvent, system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from incidents.tokens import create_token
from tests.escalation.support import DEFAULT_POLICY
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import PUBLIC_URL, TOKEN
from tests.web.conftest import PASSWORD, Browser, services_of

NETSEC_TELEGRAM = 1003
ATTACKER_TELEGRAM = 6666


def _copy_cookie(source: Browser, app: Flask) -> Browser:
    thief = Browser(app)
    for cookie in source.client._cookies.values():
        thief.client.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return thief


def _signed_in(browser: Browser) -> bool:
    return browser.get("/").status_code == 200


def test_a_copied_cookie_fails_after_logout(app: Flask, duty: Browser) -> None:
    thief = _copy_cookie(duty, app)
    assert _signed_in(thief)
    assert duty.post("/logout").status_code == 302
    assert not _signed_in(duty)
    assert not _signed_in(thief)


def test_logout_is_audited(app: Flask, duty: Browser) -> None:
    duty.post("/logout")
    with services_of(app).sessions() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.kind == "account.logout"))
    assert event.actor_login == "duty"


def test_a_password_change_ends_every_session(
    app: Flask, duty: Browser, clock: FrozenClock
) -> None:
    thief = _copy_cookie(duty, app)
    with services_of(app).sessions() as s, s.begin():
        person = s.scalars(select(Person).where(Person.login == "duty")).one()
        set_password(
            s, person=person, password="a new password", actor=system_actor("cli"), now=clock.now()
        )
    assert not _signed_in(duty)
    assert not _signed_in(thief)


def test_an_admin_signs_a_person_out_everywhere(app: Flask, duty: Browser) -> None:
    with services_of(app).sessions() as s, s.begin():
        duty_person = s.scalars(select(Person).where(Person.login == "duty")).one()
        admin = s.scalars(select(Person).where(Person.is_admin.is_(True))).first()
        assert admin is not None
        admin.password_hash = duty_person.password_hash
        duty_id, admin_login = duty_person.id, admin.login
    other = Browser(app)
    assert other.login(admin_login).status_code == 302
    assert "Sign this person out everywhere" in other.text(f"/org/people/{duty_id}?lang=en")
    assert other.post(f"/people/{duty_id}/sign-out").status_code == 302
    assert not _signed_in(duty)
    assert _signed_in(other)


def test_only_an_admin_signs_others_out(app: Flask, duty: Browser) -> None:
    netsec = Browser(app)
    netsec.login("netsec")
    with services_of(app).sessions() as s:
        duty_id = s.scalars(select(Person.id).where(Person.login == "duty")).one()
    assert netsec.post(f"/people/{duty_id}/sign-out").status_code == 403
    assert _signed_in(duty)


def test_signing_out_everywhere_else_keeps_this_session(app: Flask, duty: Browser) -> None:
    elsewhere = Browser(app)
    elsewhere.login("duty")
    assert duty.post("/sessions/sign-out-others").status_code == 302
    assert _signed_in(duty)
    assert not _signed_in(elsewhere)


def test_the_login_form_posted_while_logged_in_logs_in_again(app: Flask, duty: Browser) -> None:
    old = _copy_cookie(duty, app)
    reply = duty.post("/login", {"login": "duty", "password": PASSWORD, "next": ""})
    assert reply.status_code == 302
    assert _signed_in(duty)
    assert not _signed_in(old)  # the session it replaced is over


# --- the token-to-Telegram path ---------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def telegram_app(app: Flask, fake: FakeTelegram, clock: FrozenClock) -> Iterator[Flask]:
    services = services_of(app)
    services.settings = replace(services.settings, telegram_token=TOKEN)
    actions = BotActions(
        services.sessions, public_url=PUBLIC_URL, tz=DEFAULT_POLICY.tz, redact_titles=False
    )
    bot = PollingBot(
        build_application(token=TOKEN, api_url=fake.base_url, actions=actions, clock=clock)
    )
    bot.start()
    yield app
    bot.stop()


def _code(page: str) -> str:
    return page.split("/start ", 1)[1].split("<", 1)[0]


def test_an_api_token_opens_no_page_and_gets_no_link_code(
    telegram_app: Flask, fake: FakeTelegram, clock: FrozenClock
) -> None:
    services = services_of(telegram_app)
    with services.sessions() as s, s.begin():
        token, _row = create_token(
            s, login="netsec", name="siem", actor=system_actor("cli"), now=clock.now()
        )
    client = telegram_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    reply = client.get("/profile", headers=headers)
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    assert "/start" not in client.get("/profile?lang=en", headers=headers).get_data(as_text=True)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # the API still works
    # Nothing the token gave can link the attacker's Telegram account.
    fake.send_user_message(ATTACKER_TELEGRAM, "/start ABCD-EFGH")
    fake.wait_for(lambda: fake.messages_in(ATTACKER_TELEGRAM))
    with services.sessions() as s:
        assert linked_person(s, ATTACKER_TELEGRAM) is None


def test_the_link_code_needs_a_recent_password_then_links_the_persons_own_telegram(
    telegram_app: Flask, fake: FakeTelegram, clock: FrozenClock
) -> None:
    netsec = Browser(telegram_app)
    assert netsec.login("netsec").status_code == 302
    clock.advance(timedelta(minutes=11))
    page = netsec.text("/profile?lang=en")
    assert "/start" not in page and "Type your password again" in page
    netsec.post("/profile/confirm-password", {"password": "wrong password"})
    assert "/start" not in netsec.text("/profile?lang=en")
    netsec.post("/profile/confirm-password", {"password": PASSWORD})
    code = _code(netsec.text("/profile?lang=en"))
    fake.send_user_message(NETSEC_TELEGRAM, f"/start {code}", username="wang")
    fake.wait_for(lambda: fake.messages_in(NETSEC_TELEGRAM))
    with services_of(telegram_app).sessions() as s:
        person = linked_person(s, NETSEC_TELEGRAM)
    assert person is not None and person.login == "netsec"
