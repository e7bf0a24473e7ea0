"""What a person does in the browser: log in, log an incident and watch its grade being
suggested, acknowledge, file a report and open its printable page, watch a countdown
tick, switch language, and do it all on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from escalation.response import open_incident
from incidents.audit import Actor
from incidents.inputs import IncidentInput
from incidents.org import Person
from tests.browser.conftest import PHONE, Live, log_in

pytestmark = pytest.mark.browser


def _open(live: Live, title: str, grade: str = "major") -> int:
    """Log an incident the way the API or Telegram would, while the browser watches."""
    sessions = live.services.sessions
    with sessions() as s:
        duty = s.scalars(select(Person).where(Person.login == "duty")).one()
    data = IncidentInput.parse(
        {
            "title": title,
            "category": "network_attack",
            "grade": grade,
            "detected_at": live.clock.now().isoformat(),
        }
    )
    with sessions() as s, s.begin():
        return open_incident(
            s,
            data=data,
            actor=Actor(duty.id, "duty", "api"),
            now=live.clock.now(),
            policy=live.services.policy,
        ).id


def test_it_logs_in_and_shows_the_dashboard(page: Any, live: Live) -> None:
    log_in(page, live)
    assert page.locator("h1").inner_text() == "指挥中心"
    assert page.locator(".tile").count() == 4


def test_logging_an_incident_shows_the_grade_suggested_as_facts_are_typed(
    page: Any, live: Live
) -> None:
    log_in(page, live)
    page.click("text=登记事件")
    page.fill("#title", "邮件系统泄露公民个人信息")
    page.select_option("#category", "data_security")
    assert page.locator('#suggestion [data-grade="general"]').count() == 1
    page.fill("#impact-pi_records_leaked", "1500000")
    page.locator('#suggestion [data-grade="relatively_major"]').wait_for()
    assert "100 万" in page.locator("#suggestion").inner_text()
    page.fill("#impact-pi_records_leaked", "15000000")
    page.locator('#suggestion [data-grade="major"]').wait_for()
    page.select_option("#grade", "major")  # the grade is chosen explicitly
    page.click("text=登记事件 >> nth=-1")
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    assert "邮件系统泄露公民个人信息" in page.locator("h1").inner_text()
    assert page.locator('.incident-head [data-grade="major"]').count() == 1


def test_acknowledging_from_the_incident_page(page: Any, live: Live) -> None:
    incident = _open(live, "交通平台整体中断")
    log_in(page, live, "netsec")
    page.goto(f"{live.url}/incidents/{incident}")
    page.click('[data-action="acknowledge"]')
    page.locator(".flash.ok").wait_for()
    assert page.locator('[data-action="acknowledge"]').count() == 0
    assert "王志强" in page.locator('[data-panel="escalation"]').inner_text()


def test_filing_a_report_opens_its_printable_document(page: Any, live: Live) -> None:
    incident = _open(live, "门户网站被篡改")
    log_in(page, live)
    page.goto(f"{live.url}/incidents/{incident}")
    page.click('[data-action="report"]')
    page.fill("#item-entity", "局办公室；局门户网站（等级保护第三级）。")
    page.fill("#item-occurrence", "09时发现首页被篡改，已下线并恢复。")
    page.click("form#report-form button[type=submit]")
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    document = page.locator("article.document").inner_text()
    assert "网络安全事件报告" in document
    assert "（初次报告）" in document
    assert "09时发现首页被篡改，已下线并恢复。" in document
    pdf = page.request.get(live.url + page.locator("text=PDF").get_attribute("href"))
    assert pdf.body().startswith(b"%PDF-")


def test_a_countdown_ticks_against_the_server_clock(page: Any, live: Live) -> None:
    _open(live, "交通平台整体中断")  # the internal report is due within the hour
    live.clock.advance(minutes=20)
    log_in(page, live)
    countdown = page.locator('[data-panel="open"] .countdown').first
    first = countdown.inner_text()
    assert first.startswith("00:39:") or first == "00:40:00"
    page.wait_for_function(
        "t => document.querySelector('[data-panel=open] .countdown').textContent !== t", arg=first
    )
    assert countdown.inner_text() < first


def test_the_dashboard_refreshes_without_a_reload(page: Any, live: Live) -> None:
    log_in(page, live)
    page.evaluate("window.notReloaded = true")
    _open(live, "新的重大事件")
    page.locator('[data-panel="open"] >> text=新的重大事件').wait_for()
    assert page.evaluate("window.notReloaded") is True


def test_switching_language_sticks_across_pages(page: Any, live: Live) -> None:
    log_in(page, live)
    page.click("header button:has-text('English')")
    page.locator("html[lang=en]").wait_for()
    assert page.locator("h1").inner_text() == "Command center"
    page.click("nav >> text=Incidents")
    assert page.locator("h1").inner_text() == "Incidents"


def test_the_keyboard_reaches_the_content_first(page: Any, live: Live) -> None:
    log_in(page, live)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_logging_in_at_phone_width(chromium: Any, live: Live) -> None:
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        _open(live, "交通平台整体中断")
        log_in(phone, live)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        tiles = phone.locator(".tile")
        first, second, third = (tiles.nth(i).bounding_box() for i in range(3))
        assert first["y"] == second["y"] and third["y"] > first["y"]  # two tiles a row
        assert phone.locator('[data-panel="open"] .countdown').first.is_visible()
    finally:
        context.close()
