"""The trends page in Chromium, at a desk and on a phone, over a year of seeded incidents.

Writes ``docs/screenshots/trends-desktop.png`` and ``trends-phone.png`` (the ones the docs
show), after checking what a person would see go wrong: a page wider than the phone, a
chart spilling out of its card, month labels or totals running into each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from incidents.org import Person
from tests.browser.conftest import DESKTOP, PHONE, Live, log_in
from tests.web.trends_seed import seed_year

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SECTIONS = 7


def _overlaps(boxes: list[dict[str, float]]) -> list[tuple[int, int]]:
    """Pairs of boxes on one line that touch (labels printed over each other)."""
    out = []
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            same_line = abs(a["y"] - b["y"]) < min(a["height"], b["height"]) / 2
            if same_line and a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]:
                out.append((i, j))
    return out


def _labels_apart(page: Any, selector: str) -> None:
    for chart in page.locator("svg.chart").all():
        boxes = [t.bounding_box() for t in chart.locator(selector).all()]
        boxes = [b for b in boxes if b is not None]
        assert not _overlaps(boxes), (chart.get_attribute("id"), selector)


def _check(page: Any, width: int) -> None:
    page.locator("h1", has_text="趋势").wait_for()
    assert page.locator("section.trend").count() == SECTIONS
    assert page.locator("section.trend svg[role=img]").count() == SECTIONS
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for card in page.locator("section.trend").all():
        card_box = card.bounding_box()
        chart_box = card.locator("svg.chart").bounding_box()
        assert chart_box["x"] >= card_box["x"] - 0.5
        assert chart_box["x"] + chart_box["width"] <= card_box["x"] + card_box["width"] + 0.5
        assert chart_box["height"] > 120  # drawn, not collapsed
    _labels_apart(page, "g.months text")
    _labels_apart(page, "text.total")
    _labels_apart(page, "g.legend text")


def test_the_trends_page_at_a_desk_and_on_a_phone(
    chromium: Any, page: Any, live: Live, org: dict[str, Person]
) -> None:
    seed_year(live.app, org)
    log_in(page, live)
    page.click("text=趋势")
    page.wait_for_url(f"{live.url}/trends")
    _check(page, DESKTOP["width"])
    # At a desk the table stands beside its chart.
    first = page.locator("section.trend").first
    chart, table = first.locator("svg.chart").bounding_box(), first.locator("table").bounding_box()
    assert table["x"] > chart["x"] + chart["width"] - 1
    assert page.locator("#chart-incidents g.bars rect").count() > 12
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "trends-desktop.png"), full_page=True)

    context = chromium.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        log_in(phone, live)
        phone.goto(f"{live.url}/trends")
        _check(phone, PHONE["width"])
        # On a phone the table goes under its chart, and the period chooser fits.
        first = phone.locator("section.trend").first
        chart = first.locator("svg.chart").bounding_box()
        table = first.locator("table").bounding_box()
        assert table["y"] >= chart["y"] + chart["height"] - 1
        for field in ("#from", "#to"):
            box = phone.locator(field).bounding_box()
            assert box["x"] + box["width"] <= PHONE["width"]
        phone.screenshot(path=str(SHOTS / "trends-phone.png"), full_page=True)
    finally:
        context.close()
