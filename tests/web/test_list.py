"""The incident list: filters, search and keyset pagination."""

from __future__ import annotations

import pytest
from flask import Flask

from app.web import incident_pages
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.web.conftest import Browser, open_


def test_it_filters_by_grade(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="major", at=clock.now(), title="重大事件甲")
    open_(app, org, grade="general", at=clock.now(), title="一般事件乙")
    page = duty.text("/incidents?grade=major")
    assert "重大事件甲" in page
    assert "一般事件乙" not in page


def test_it_searches_titles_and_numbers(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="general", at=clock.now(), title="门户网站被篡改")
    open_(app, org, grade="general", at=clock.now(), title="邮件系统钓鱼")
    page = duty.text("/incidents?q=钓鱼")
    assert "邮件系统钓鱼" in page
    assert "门户网站被篡改" not in page
    assert "FH-2026-0001" in duty.text("/incidents?q=FH-2026-0001")


def test_it_pages_with_a_cursor_not_an_offset(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(incident_pages, "PAGE_SIZE", 2)
    ids = [open_(app, org, grade="general", at=clock.now(), title=f"事件{n}") for n in range(3)]
    first = duty.text("/incidents")
    assert "事件2" in first and "事件1" in first and "事件0" not in first
    assert f"before={ids[1]}" in first
    second = duty.text(f"/incidents?before={ids[1]}")
    assert "事件0" in second and "事件1" not in second


def test_an_unknown_filter_value_is_refused(duty: Browser) -> None:
    assert duty.get("/incidents?grade=catastrophic").status_code == 422


def test_the_dates_filter_by_the_local_day_of_detection(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="general", at=clock.now(), title="今天的事件")  # 09:00 local
    assert "今天的事件" in duty.text("/incidents?since=2026-11-27&until=2026-11-27")
    assert "今天的事件" not in duty.text("/incidents?since=2026-11-28")
