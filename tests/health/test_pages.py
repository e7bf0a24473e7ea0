"""Paging health on the pages: the dashboard's banner and the incident's delivery rows
say in plain words (zh_CN and English) what is wrong, never an exception's text."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from escalation import health
from escalation.destinations import add_destination
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import RecordingChannel
from tests.health.support import Unreachable, deliver_at, round_at, telegram_for
from tests.web.conftest import Browser, open_, services_of


def worker_beats(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    with factory() as s, s.begin():
        health.beat(s, name="worker:w1", kind="worker", now=clock.now(), started_at=T0)
        health.record_channels(s, health.channel_health(s).values(), now=clock.now())


def banner(browser: Browser, lang: str = "zh_CN") -> str:
    page = browser.text(f"/?lang={lang}")
    return page.split('data-panel="paging">', 1)[1].split("</div>", 1)[0]


def test_the_banner_says_since_when_telegram_is_unreachable_in_the_policy_time_zone(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    factory = services_of(app).sessions
    telegram_for(factory, org, "duty", "cchead")
    open_(app, org, grade="major", at=clock.now())
    deliver_at(factory, 0, Unreachable())
    clock.advance(minutes=1)
    worker_beats(factory, clock)
    # T0 is 01:00 UTC: 09:00 in the policy's Asia/Shanghai.
    assert "Telegram 自 09:00 起无法送达，已改由其他渠道发送" in banner(duty)
    english = banner(duty, "en")
    assert "Telegram unreachable since 09:00; sending by other channels" in english
    page = duty.text("/")
    assert "NetworkError" not in page and "httpx" not in page


def test_the_banner_says_when_no_worker_is_running_or_it_stopped_reporting(
    app: Flask, clock: FrozenClock, duty: Browser
) -> None:
    assert "没有工作进程在运行" in banner(duty)
    worker_beats(services_of(app).sessions, clock)
    assert banner(duty).strip() == ""
    clock.advance(minutes=5)
    assert "The worker has not reported since 09:00" in banner(duty, "en")


def test_the_banner_says_when_a_notice_waited_longer_than_the_bound(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    factory = services_of(app).sessions
    telegram_for(factory, org, "duty")
    open_(app, org, grade="major", at=clock.now())
    deliver_at(factory, 0, Unreachable())
    clock.advance(minutes=30)
    worker_beats(factory, clock)
    assert "A notice has waited 30 minutes to be delivered" in banner(duty, "en")


def test_the_live_dashboard_refreshes_the_banner(
    app: Flask, clock: FrozenClock, duty: Browser
) -> None:
    live = duty.get("/live/dashboard.json").get_json()
    assert "没有工作进程在运行" in live["panels"]["paging"]


def test_a_delivery_row_says_what_happened_instead_of_the_exception(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    factory = services_of(app).sessions
    telegram_for(factory, org, "duty")
    with factory() as s, s.begin():  # duty's second channel, after Telegram
        add_destination(
            s,
            person_id=org["duty"].id,
            kind="email",
            address="duty@example.gov.cn",
            actor=system_actor("cli"),
            now=T0,
        )
    incident_id = open_(app, org, grade="major", at=clock.now())
    email = RecordingChannel("email")
    down = Unreachable()
    for m in range(6):  # Telegram keeps failing; after fallback_after it goes by email
        round_at(factory, m, {"telegram": down, "email": email})
    clock.advance(timedelta(minutes=5))
    assert email.sent, "the notice reached duty by email"
    rows = escalation_panel(duty.text(f"/incidents/{incident_id}"))
    assert "Telegram 自 09:00 起无法送达，已改由" in rows
    assert "NetworkError" not in rows and "ConnectError" not in rows
    english = escalation_panel(duty.text(f"/incidents/{incident_id}?lang=en"))
    assert "Telegram unreachable since 09:00, sent by" in english


def escalation_panel(page: str) -> str:
    """The incident page's escalation rows (who was paged, how delivery went)."""
    return page.split('data-panel="escalation">', 1)[1].split("</section>", 1)[0]
