"""The SVG charts: well-formed, accessible, bars and points where the values put them."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from app.web.charts import Series, bar_chart, line_chart, nice_scale, shown_labels

NS = {"svg": "http://www.w3.org/2000/svg"}
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall("./svg:g[@class='bars']/svg:rect", NS)


def test_a_bar_chart_is_valid_xml_labelled_by_its_title_and_description() -> None:
    root = parse(
        bar_chart(
            chart_id="c",
            title="Incidents <per> month & grade",
            desc="Stacked bars",
            labels=MONTHS,
            series=[Series("一般", [1, 2, 3, 4], "#1d4ed8")],
            empty_text="nothing",
        )
    )
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find("svg:title", NS).text == "Incidents <per> month & grade"  # type: ignore[union-attr]
    assert root.find("svg:desc", NS).text == "Stacked bars"  # type: ignore[union-attr]
    months = [t.text for t in root.findall("./svg:g[@class='months']/svg:text", NS)]
    assert months == ["01", "02", "03", "04", "2026"]  # the year once, under its first month


def test_bar_heights_are_proportional_to_the_values() -> None:
    root = parse(
        bar_chart(
            chart_id="c",
            title="t",
            desc="d",
            labels=MONTHS,
            series=[Series("a", [1, 2, 0, 4], "#000")],
            empty_text="nothing",
        )
    )
    heights = {r.get("data-value"): float(r.get("height", "0")) for r in bars(root)}
    assert set(heights) == {"1", "2", "4"}  # a zero draws no bar
    assert heights["2"] == pytest.approx(2 * heights["1"], rel=1e-3)
    assert heights["4"] == pytest.approx(4 * heights["1"], rel=1e-3)
    totals = [t.text for t in root.findall(".//svg:text[@class='total']", NS)]
    assert totals == ["1", "2", "4"]


def test_stacked_bands_sit_on_each_other_and_carry_their_own_title() -> None:
    root = parse(
        bar_chart(
            chart_id="c",
            title="t",
            desc="d",
            labels=MONTHS[:1],
            series=[Series("一般", [3], "#00f"), Series("较大", [1], "#ff0", "diagonal")],
            empty_text="nothing",
        )
    )
    low, high = bars(root)
    assert float(high.get("y", "0")) + float(high.get("height", "0")) == pytest.approx(
        float(low.get("y", "0"))
    )
    assert float(low.get("height", "0")) == pytest.approx(3 * float(high.get("height", "0")))
    assert low.find("svg:title", NS).text == "2026-01 · 一般: 3"  # type: ignore[union-attr]
    # Told apart by pattern, not by colour alone; the legend names each band.
    patterns = root.findall(".//svg:pattern", NS)
    assert len(patterns) == 2 and patterns[1].find("svg:path", NS) is not None
    assert [t.text for t in root.findall("./svg:g[@class='legend']/svg:text", NS)] == [
        "一般",
        "较大",
    ]


def test_empty_data_keeps_the_axes_and_says_so() -> None:
    # No bar is taller than zero; no point has a value (a 0% share is a value).
    for draw, values in ((bar_chart, [None, 0, None, 0]), (line_chart, [None] * 4)):
        root = parse(
            draw(
                chart_id="e",
                title="t",
                desc="d",
                labels=MONTHS,
                series=[Series("a", values, "#000")],
                empty_text="本期无数据",
            )
        )
        assert root.find(".//svg:text[@class='chart-empty']", NS).text == "本期无数据"  # type: ignore[union-attr]
        assert root.findall("./svg:g[@class='grid']/svg:line", NS)
    none = parse(bar_chart(chart_id="n", title="t", desc="d", labels=[], series=[], empty_text="x"))
    assert none.find(".//svg:text[@class='chart-empty']", NS) is not None


def test_a_line_breaks_where_a_month_has_no_value_and_points_sit_at_their_value() -> None:
    root = parse(
        line_chart(
            chart_id="l",
            title="t",
            desc="d",
            labels=MONTHS,
            series=[Series("mean", [1.0, None, 2.0, 4.0], "#000", marker="square")],
            empty_text="nothing",
            top=4.0,
        )
    )
    paths = root.findall(".//svg:g[@class='series']/svg:path", NS)
    assert len(paths) == 1  # 1.0 stands alone; 2.0–4.0 is one segment
    marks = root.findall(".//svg:g[@class='series']/svg:rect", NS)
    assert [m.get("data-value") for m in marks] == ["1", "2", "4"]
    base = float(root.findall("./svg:g[@class='grid']/svg:line", NS)[0].get("y1", "0"))
    ys = [float(m.get("y", "0")) + 4 for m in marks]  # a square's centre
    assert base - ys[2] == pytest.approx(4 * (base - ys[0]), rel=1e-3)


def test_the_scale_is_round_and_counts_step_by_whole_numbers() -> None:
    assert nice_scale(5, whole=True) == (6.0, 2.0)
    assert nice_scale(0, whole=True) == (1.0, 1.0)
    assert nice_scale(1, whole=True) == (1.0, 1.0)
    assert nice_scale(37) == (40.0, 10.0)
    assert nice_scale(0.9) == (1.0, 0.5)


def test_each_year_is_named_under_its_first_month() -> None:
    root = parse(
        bar_chart(
            chart_id="y",
            title="t",
            desc="d",
            labels=["2025-10", "2025-11", "2025-12", "2026-01", "2026-02"],
            series=[Series("a", [1, 1, 1, 1, 1], "#000")],
            empty_text="x",
        )
    )
    years = root.findall("./svg:g[@class='months']/svg:text[@class='year']", NS)
    assert [y.text for y in years] == ["2025", "2026"]
    months = root.findall("./svg:g[@class='months']/svg:text", NS)
    x_of = {t.text: t.get("x") for t in months if t.get("class") != "year"}
    assert years[1].get("x") == x_of["01"]
    # December just before January: the year is left to January, the labels never touch.
    close = parse(
        bar_chart(
            chart_id="z",
            title="t",
            desc="d",
            labels=["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))],
            series=[Series("a", [1] * 12, "#000")],
            empty_text="x",
        )
    )
    years = close.findall("./svg:g[@class='months']/svg:text[@class='year']", NS)
    assert [y.text for y in years] == ["2026"]


def test_month_labels_thin_out_so_that_they_never_touch() -> None:
    assert shown_labels(12, 492) == list(range(12))
    many = shown_labels(36, 492)
    assert many[0] == 0 and many[-1] == 35
    gaps = {b - a for a, b in itertools.pairwise(many)}
    assert min(gaps) >= 2
