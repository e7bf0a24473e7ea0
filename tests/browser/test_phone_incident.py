"""On a phone (390×844) the incident page starts with what a leader acts on: grade,
status, the running deadline and the acknowledge button, within the first screen, under
a header that takes little of it. The menu opens without JavaScript."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from escalation.sweep import sweep
from tests.browser.conftest import DESKTOP, PHONE, Live, log_in
from tests.browser.test_web_face import _open

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def box(page: Any, selector: str) -> dict[str, float]:
    """The element's getBoundingClientRect() in the viewport, scrolled to the top."""
    found: dict[str, float] | None = page.evaluate(
        """s => { const e = document.querySelector(s); if (!e) return null;
                  const r = e.getBoundingClientRect();
                  return {top: r.top, bottom: r.bottom, height: r.height}; }""",
        selector,
    )
    assert found is not None, f"{selector} is not on the page"
    return found


def test_the_incident_page_on_a_phone_starts_with_the_deadline_and_acknowledge(
    phone: Any, live: Live
) -> None:
    incident = _open(live, "交通平台整体中断")  # open, not yet acknowledged
    live.clock.advance(minutes=2)
    # The worker's sweep has paged the chain's first step; the next one is running.
    while sweep(live.services.sessions, now=live.clock.now(), policy=live.services.policy).more:
        pass
    log_in(phone, live, "netsec")
    phone.goto(f"{live.url}/incidents/{incident}")
    phone.evaluate("window.scrollTo(0, 0)")
    height = PHONE["height"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "incident-phone.png"))

    header = box(phone, "header.top")
    assert header["height"] <= 0.15 * height, header

    acknowledge = box(phone, '[data-action="acknowledge"]')
    assert acknowledge["top"] > 0 and acknowledge["bottom"] <= height, acknowledge
    deadline = box(phone, ".running-deadline .countdown")
    assert deadline["top"] > 0 and deadline["bottom"] <= height, deadline
    assert box(phone, ".incident-head [data-grade]")["bottom"] <= height
    assert box(phone, ".incident-head [data-status]")["bottom"] <= height
    # The record follows the actions: timeline and details are further down.
    assert box(phone, "#timeline-title")["top"] > acknowledge["bottom"]
    assert box(phone, "#facts-title")["top"] > acknowledge["bottom"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The menu is closed, and opens by its summary (no script involved).
    nav = phone.locator("nav.main-nav")
    assert not nav.is_visible()
    phone.click("header details.menu > summary")
    assert nav.is_visible()
    assert phone.locator("nav.main-nav >> text=事件").first.is_visible()


def test_the_phone_menu_works_without_javascript(chromium: Any, live: Live) -> None:
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live)
        nav = page.locator("nav.main-nav")
        assert not nav.is_visible()
        page.click("header details.menu > summary")
        page.click("nav.main-nav >> text=事件")
        page.wait_for_url(f"{live.url}/incidents")
        assert page.locator("h1").inner_text() == "事件"
    finally:
        context.close()


def test_on_a_desktop_the_navigation_is_shown_without_a_menu(page: Any, live: Live) -> None:
    log_in(page, live)
    assert page.viewport_size == DESKTOP
    assert page.locator("nav.main-nav").is_visible()
    assert not page.locator("header details.menu > summary").is_visible()
    assert page.locator('header .who a[href="/inbox"]').is_visible()
