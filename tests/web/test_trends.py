"""The trends page and its workbook: the tables say what the queries count, the xlsx holds
the same numbers as the tables, and only those who see every incident see them."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import lxml.html
import openpyxl
import pytest
from flask import Flask

from accountability import trends
from accountability.trends import TIERS
from app.web.templating import duration, percent
from escalation.trends import Period
from incidents.grading import GRADES
from incidents.org import Person
from tests.web.conftest import Browser, as_, services_of
from tests.web.trends_seed import seed_year

PERIOD = {"from": "2026-08", "to": "2026-11"}


@pytest.fixture
def seeded(app: Flask, org: dict[str, Person]) -> dict[str, Any]:
    """Four months of incidents, reports and cases; the figures the queries give."""
    seed_year(app, org, months=4)
    services = services_of(app)
    with services.sessions() as s:
        return trends.figures(s, Period(date(2026, 8, 1), date(2026, 11, 1)), services.policy.tz)


def tables(html: str) -> dict[str, list[list[str]]]:
    """Each figure's table as rows of cell texts (the month rows, then the total)."""
    doc = lxml.html.fromstring(html)
    out = {}
    for table in doc.xpath("//table[@data-figure]"):
        rows = table.xpath("./tbody/tr | ./tfoot/tr")
        out[table.get("data-figure")] = [
            [cell.text_content().strip() for cell in row.xpath("./th | ./td")] for row in rows
        ]
    return out


def _seconds(value: float | None) -> str:
    return "—" if value is None else duration(value)


def expected(f: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The tables as the figures say they must read (in English)."""
    months = f["months"]
    t = f["totals"]
    inc = f["incidents_by_grade"]

    def durations(key: str) -> list[list[str]]:
        rows = [*f[key]["months"], f[key]["total"]]
        return [
            [m, str(r["count"]), _seconds(r["mean_seconds"]), _seconds(r["p90_seconds"])]
            for m, r in zip([*months, "Whole period"], rows, strict=True)
        ]

    def tiers(key: str) -> list[list[str]]:
        rows = [*f[key], t[key]]
        return [
            [m, *(str(r[x]) for x in TIERS), str(sum(r.values()))]
            for m, r in zip([*months, "Whole period"], rows, strict=True)
        ]

    reports = [*f["reports"], t["reports"]]
    return {
        "incidents": [
            [m, *(str(r[g]) for g in GRADES), str(sum(r.values()))]
            for m, r in zip([*months, "Whole period"], [*inc, t["incidents"]], strict=True)
        ],
        "reports": [
            [m, str(r["met"]), str(r["late"]), str(r["missed"]), percent(r["on_time_share"])]
            for m, r in zip([*months, "Whole period"], reports, strict=True)
        ],
        "breaches": [
            [m, str(n)]
            for m, n in zip([*months, "Whole period"], [*f["breaches"], t["breaches"]], strict=True)
        ],
        "acknowledge": durations("acknowledge"),
        "resolve": durations("resolve"),
        "cases_opened": tiers("cases_opened"),
        "cases_decided": tiers("cases_decided"),
    }


def english(app: Flask, login: str = "duty") -> Browser:
    reader = as_(app, login)
    assert reader.post("/profile/language", {"language": "en", "next": "/"}).status_code == 302
    return reader


def test_the_tables_say_what_the_queries_count(app: Flask, seeded: dict[str, Any]) -> None:
    reader = english(app)
    html = reader.text("/trends?from=2026-08&to=2026-11")
    with app.test_request_context("/?lang=en"):
        want = expected(seeded)
    assert tables(html) == want
    # The seed is not all zeros: each figure has something to show.
    assert sum(seeded["totals"]["incidents"].values()) > 0
    assert seeded["totals"]["reports"]["late"] > 0 and seeded["totals"]["breaches"] > 0
    assert seeded["acknowledge"]["total"]["count"] > 0
    assert sum(seeded["totals"]["cases_decided"].values()) > 0


def test_each_chart_is_an_accessible_svg_beside_its_table(
    app: Flask, seeded: dict[str, Any]
) -> None:
    doc = lxml.html.fromstring(english(app).text("/trends?from=2026-08&to=2026-11"))
    sections = doc.xpath("//section[contains(@class, 'trend')]")
    assert len(sections) == 7
    for section in sections:
        svg = section.xpath(".//svg")[0]
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert section.xpath(f".//*[@id='{title_id}']")[0].text_content().strip()
        assert section.xpath(f".//*[@id='{desc_id}']")[0].text_content().strip()
        assert section.xpath(".//table[@data-figure]")
    bars = doc.xpath("//svg[@id='chart-incidents']//g[@class='bars']/rect")
    assert sum(int(b.get("data-value")) for b in bars) == sum(
        seeded["totals"]["incidents"].values()
    )
    assert "cdn" not in lxml.html.tostring(doc).decode().lower()


def test_the_workbook_holds_the_numbers_of_the_tables(app: Flask, seeded: dict[str, Any]) -> None:
    reader = english(app)
    page = tables(reader.text("/trends?from=2026-08&to=2026-11"))
    reply = reader.get("/trends.xlsx?from=2026-08&to=2026-11")
    assert reply.status_code == 200
    assert reply.mimetype.endswith("spreadsheetml.sheet")
    assert "fenghuo-trends-2026-08-2026-11.xlsx" in reply.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(reply.data))
    cover, *sheets = book.worksheets
    assert cover.title == "封面"
    cover_rows = {row[1]: row[2] for row in cover.iter_rows(values_only=True) if row[1]}
    assert cover_rows["Period"] == "2026-08 – 2026-11"
    assert cover_rows["Generated at"] == "2026-11-27 09:00"
    assert cover_rows["Addressed to"] == "网络安全工作领导小组"
    cover_text = " ".join(str(c) for row in cover.iter_rows(values_only=True) for c in row if c)
    assert "5.1(a)" in cover_text and "6(2)" in cover_text
    keys = ["incidents", "reports", "breaches", "acknowledge", "resolve"]
    keys += ["cases_opened", "cases_decided"]
    assert len(sheets) == len(keys)
    for key, sheet in zip(keys, sheets, strict=True):
        zh_head, en_head, *rows = list(sheet.iter_rows(values_only=True))
        assert en_head[0] == "Month" and zh_head[0] == "月份"
        assert [r[0] for r in rows[:-1]] == [row[0] for row in page[key][:-1]]
        assert rows[-1][0] == "全期合计 / Whole period"
        for row, shown in zip(rows, page[key], strict=True):
            for stored, text, head in zip(row[1:], shown[1:], en_head[1:], strict=True):
                assert _as_page(stored, str(head)) == text, (key, head, row[0])


def _as_page(stored: Any, header: str) -> str:
    """A workbook cell as the page prints it: shares as percentages, durations as spans."""
    if stored is None:
        return "—"
    if header == "Share on time":
        return percent(stored)
    if isinstance(stored, timedelta):
        assert header.endswith("(h:mm:ss)")
        return duration(stored.total_seconds())
    return str(stored)


def test_the_workbook_keeps_exact_values_where_the_page_rounds(
    app: Flask, seeded: dict[str, Any]
) -> None:
    reply = as_(app, "duty").get("/trends.xlsx?from=2026-08&to=2026-11")
    book = openpyxl.load_workbook(io.BytesIO(reply.data))
    reports = book.worksheets[2]
    shares = [row[4] for row in reports.iter_rows(min_row=3, values_only=True)]
    want = [r["on_time_share"] for r in seeded["reports"]]
    assert shares == [*want, seeded["totals"]["reports"]["on_time_share"]]
    ack = book.worksheets[4]
    means = [row[2] for row in ack.iter_rows(min_row=3, values_only=True)]
    assert [None if m is None else m.total_seconds() for m in means] == [
        m["mean_seconds"]
        for m in [*seeded["acknowledge"]["months"], seeded["acknowledge"]["total"]]
    ]


def test_the_page_is_in_chinese_by_default_with_the_grades_named(
    app: Flask, org: dict[str, Person]
) -> None:
    html = as_(app, "duty").text("/trends")
    assert "<h1>趋势</h1>" in html
    assert "特别重大" in html
    assert "导出 Excel" in html or "xlsx" in html


def test_an_empty_period_draws_the_axes_and_says_there_is_nothing(
    app: Flask, org: dict[str, Person]
) -> None:
    doc = lxml.html.fromstring(english(app).text("/trends?from=2026-01&to=2026-03"))
    empty = doc.xpath("//svg[@id='chart-incidents']//text[@class='chart-empty']")
    assert empty and empty[0].text == "Nothing in this period"
    assert tables(lxml.html.tostring(doc).decode())["incidents"][-1] == [
        "Whole period",
        "0",
        "0",
        "0",
        "0",
        "0",
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=2026-13", "from"), ("from=2026-05&to=2026-04", "from"), ("from=2020-01", "to")],
)
def test_a_bad_period_is_refused_naming_the_field(
    app: Flask, org: dict[str, Person], query: str, field: str
) -> None:
    reader = english(app)
    reply = reader.get(f"/trends?{query}")
    assert reply.status_code == 422
    doc = lxml.html.fromstring(reply.get_data(as_text=True))
    assert doc.xpath(f"//input[@id='{field}'][@aria-invalid='true']")
    assert doc.xpath("//*[@id='period-error']")
    assert not doc.xpath("//table[@data-figure]")
    assert reader.get(f"/trends.xlsx?{query}").status_code == 422


def test_a_bad_period_is_explained_in_the_readers_language(
    app: Flask, org: dict[str, Person]
) -> None:
    reply = as_(app, "duty").get("/trends?from=2026-13")
    assert reply.status_code == 422
    error = lxml.html.fromstring(reply.get_data(as_text=True)).xpath("//*[@id='period-error']")
    assert error[0].text_content().strip() == "起始月份：必须是 YYYY-MM 格式的月份（例如 2026-01）"


def test_the_presets_choose_whole_months(app: Flask, org: dict[str, Person]) -> None:
    doc = lxml.html.fromstring(english(app).text("/trends"))
    links = {a.text_content(): a.get("href") for a in doc.xpath("//p[@class='presets']/a")}
    assert links == {
        "This year": "/trends?from=2026-01&to=2026-11",
        "Last 12 months": "/trends?from=2025-12&to=2026-11",
        "Last year": "/trends?from=2025-01&to=2025-12",
    }
    current = doc.xpath("//p[@class='presets']/a[@aria-current]")
    assert [a.text_content() for a in current] == ["Last 12 months"]


@pytest.mark.parametrize("login", ["director", "netsec", "cchead", "duty"])
def test_those_who_see_every_incident_see_the_trends_in_their_menu(
    app: Flask, org: dict[str, Person], login: str
) -> None:
    reader = as_(app, login)
    assert reader.get("/trends").status_code == 200
    assert 'href="/trends"' in reader.text("/")


@pytest.mark.parametrize("login", ["trafhead", "trafstaff"])
def test_a_department_sees_neither_the_page_nor_the_workbook(
    app: Flask, org: dict[str, Person], login: str
) -> None:
    reader = as_(app, login)
    assert reader.get("/trends").status_code == 403
    assert reader.get("/trends.xlsx").status_code == 403
    assert 'href="/trends"' not in reader.text("/")


def test_a_stranger_is_sent_to_log_in(browser: Browser) -> None:
    for path in ("/trends", "/trends.xlsx"):
        reply = browser.get(path)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"]
