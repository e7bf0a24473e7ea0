"""The trends' charts: which chart each table gets, in which inks and patterns.

The drawing itself is ``app.web.charts``; this module picks the series from the tables
(``app.web.trend_tables``), the grade colours of the national warning scale with a pattern
each, and a time unit that makes the axis read in round numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from accountability.trends import TIERS
from app.web.charts import Series, bar_chart, line_chart
from app.web.templating import duration, percent
from app.web.translate import _
from app.web.trend_tables import Table
from incidents.grading import GRADES

GRADE_INK = {
    "general": ("#1d4ed8", "solid"),
    "relatively_major": ("#f2c200", "diagonal"),
    "major": ("#c2410c", "dots"),
    "especially_major": ("#b3141c", "cross"),
}
TIER_INK = {
    "0": ("#9ca3af", "solid"),
    "1": ("#60a5fa", "diagonal"),
    "2": ("#1d4ed8", "dots"),
    "3": ("#c2410c", "cross"),
    "4": ("#7f1d1d", "horizontal"),
    "none": ("#d1d5db", "vertical"),
}
MEAN_INK = "#1d4ed8"
P90_INK = "#b3141c"


def _time_unit(seconds: Sequence[float | None]) -> tuple[float, str]:
    """Seconds per unit and the unit's name, so that the axis reads in round numbers."""
    top = max((s for s in seconds if s is not None), default=0.0)
    if top < 2 * 3600:
        return 60.0, _("minutes")
    if top < 3 * 86400:
        return 3600.0, _("hours")
    return 86400.0, _("days")


def _column(table: Table, index: int) -> list[Any]:
    return [row[index] for row in table.rows]


def _stacked(
    table: Table, inks: dict[str, tuple[str, str]], codes: Sequence[str], desc: str
) -> str:
    series = [
        Series(col.header, _column(table, i + 1), *inks[code])
        for i, (col, code) in enumerate(zip(table.columns[1:], codes, strict=False))
    ]
    return bar_chart(
        chart_id=f"chart-{table.key}",
        title=table.title,
        desc=desc,
        labels=[str(m) for m in _column(table, 0)],
        series=series,
        empty_text=_("Nothing in this period"),
    )


def _times(table: Table) -> str:
    means, p90s = _column(table, 2), _column(table, 3)
    unit, unit_name = _time_unit(p90s + means)

    def scaled(values: list[Any]) -> list[float | None]:
        return [None if v is None else float(v) / unit for v in values]

    return line_chart(
        chart_id=f"chart-{table.key}",
        title=table.title,
        desc=_(
            "Mean and 90th percentile per month, in %(unit)s; the table gives the exact values.",
            unit=unit_name,
        ),
        labels=[str(m) for m in _column(table, 0)],
        series=[
            Series(_("Mean"), scaled(means), MEAN_INK, marker="circle"),
            Series(_("90th percentile"), scaled(p90s), P90_INK, marker="square", dash="6 4"),
        ],
        empty_text=_("Nothing in this period"),
        axis_label=unit_name,
        tick=lambda v: f"{v:g}",
        value_text=lambda v: duration(v * unit),
    )


def build_charts(tables: list[Table]) -> dict[str, Markup]:
    """The SVG of each table's chart, by table key (SVG built escaped by ElementTree)."""
    by_key = {t.key: t for t in tables}
    share = by_key["reports"]
    charts = {
        "incidents": _stacked(
            by_key["incidents"],
            GRADE_INK,
            GRADES,
            _("Stacked bars: incidents logged each month, one band per grade, the total above."),
        ),
        "reports": line_chart(
            chart_id="chart-reports",
            title=share.title,
            desc=_("Share of reporting obligations filed on time each month, 0 to 100%."),
            labels=[str(m) for m in _column(share, 0)],
            series=[Series(_("Share on time"), _column(share, 4), "#166534", marker="circle")],
            empty_text=_("No report was due in this period"),
            tick=lambda v: f"{round(v * 100)}%",
            value_text=lambda v: percent(v),
            top=1.0,
            point_labels=True,
        ),
        "breaches": bar_chart(
            chart_id="chart-breaches",
            title=by_key["breaches"].title,
            desc=_("Bars: reporting deadlines breached each month, the number above each bar."),
            labels=[str(m) for m in _column(by_key["breaches"], 0)],
            series=[Series(_("Breaches"), _column(by_key["breaches"], 1), "#a3161c", "diagonal")],
            empty_text=_("No deadline was breached in this period"),
        ),
        "acknowledge": _times(by_key["acknowledge"]),
        "resolve": _times(by_key["resolve"]),
        "cases_opened": _stacked(
            by_key["cases_opened"],
            TIER_INK,
            TIERS,
            _("Stacked bars: cases opened each month, one band per tier, the total above."),
        ),
        "cases_decided": _stacked(
            by_key["cases_decided"],
            TIER_INK,
            TIERS,
            _("Stacked bars: cases decided each month, one band per tier, the total above."),
        ),
    }
    return {key: Markup(svg) for key, svg in charts.items()}  # noqa: S704  (escaped by ElementTree)
