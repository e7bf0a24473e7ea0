"""The dashboard: open incidents by grade in the warning colours, what waits for
acknowledgement, what is overdue, and a live JSON document with the server's time."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from incidents.clock import FrozenClock
from incidents.org import Person
from tests.web.conftest import Browser, as_, open_


def test_it_sends_a_stranger_to_the_login_page(browser: Browser) -> None:
    reply = browser.get("/")
    assert reply.status_code == 302
    assert "/login" in reply.headers["Location"]


def test_it_counts_open_incidents_by_grade_in_the_warning_colours(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="major", at=clock.now())
    open_(app, org, grade="major", at=clock.now())
    open_(app, org, grade="general", at=clock.now())
    page = duty.text("/")
    assert 'class="tile grade-orange" data-grade="major"' in page
    assert 'class="tile grade-blue" data-grade="general"' in page
    assert 'class="tile grade-red zero" data-grade="especially_major"' in page
    orange = page.split('data-grade="major"', 1)[1]
    assert '<span class="n">2</span>' in orange.split("</a>", 1)[0]


def test_it_lists_an_incident_nobody_has_acknowledged(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="general", at=clock.now(), title="交换机端口异常")
    unacked = duty.text("/").split('data-panel="unacked"', 1)[1].split('data-panel="open"')[0]
    assert "交换机端口异常" in unacked


def test_it_lists_a_report_past_its_deadline_as_breached(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="major", at=clock.now(), title="平台中断")
    clock.advance(hours=1, minutes=5)  # the internal report was due within the hour
    breaches = duty.text("/").split('data-panel="breaches"', 1)[1].split('data-panel="unacked"')[0]
    assert "Internal report" in breaches or "向局领导报告" in breaches
    assert "countdown" in breaches


def test_a_department_head_sees_only_the_incidents_of_their_department(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    open_(app, org, grade="general", at=clock.now(), title="交通平台告警", department="traffic")
    open_(app, org, grade="general", at=clock.now(), title="财务系统告警", department="finance")
    page = as_(app, "trafhead").text("/")
    assert "交通平台告警" in page
    assert "财务系统告警" not in page


def test_the_live_document_carries_the_server_time_and_every_panel(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="relatively_major", at=clock.now(), title="门户网站被篡改")
    clock.advance(timedelta(minutes=3))
    live = duty.get("/live/dashboard.json").get_json()
    assert live["now"] == clock.now().isoformat()
    assert set(live["panels"]) == {
        "paging",
        "roster",
        "tiles",
        "open",
        "unacked",
        "breaches",
        "figures",
    }
    assert "门户网站被篡改" in live["panels"]["open"]
    assert live["open"] == 1


def test_the_countdown_is_rendered_against_the_server_clock(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="major", at=clock.now())
    clock.advance(minutes=20)  # the internal report (1 h) has 40 minutes left
    page = duty.text("/")
    assert "00:40:00" in page
    assert f'data-server-now="{clock.now().isoformat().replace("+00:00", "Z")}"' in page


def test_todays_figures_count_what_was_logged_today(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="general", at=clock.now())
    open_(app, org, grade="general", at=clock.now())
    figures = duty.get("/live/dashboard.json").get_json()["panels"]["figures"]
    logged = figures.split("</dt><dd>", 1)[1]
    assert logged.startswith("2</dd>")
