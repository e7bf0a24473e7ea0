"""The trends' tables: each figure as rows of raw numbers, a row per month and a total.

Built once from ``accountability.trends.figures``; the page prints the rows
(:func:`cell_text`) and the workbook stores them (``app.web.trends_export``), so the two
cannot disagree. Headers are in the current language; the workbook builds the tables once
per language for its two header rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accountability.trends import TIERS
from app.web.templating import duration, name_in, percent
from app.web.translate import _
from incidents.grading import GRADE_NAMES, GRADES

#: What a column holds, which decides how the page prints it and the workbook stores it.
COUNT, SHARE, SECONDS, MONTH = "count", "share", "seconds", "month"
Value = int | float | str | None


@dataclass(frozen=True)
class Column:
    header: str
    kind: str


@dataclass(frozen=True)
class Table:
    """One figure as rows of raw numbers: a row per month, then the period's total."""

    key: str
    title: str
    caption: str
    clauses: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    total: tuple[Value, ...]


def cell_text(value: Value, kind: str) -> str:
    """A cell as the page prints it."""
    if kind == MONTH:
        return str(value)
    if value is None:
        return "—"
    if kind == SHARE:
        return percent(float(value))
    if kind == SECONDS:
        return duration(float(value))
    return str(value)


def tier_name(tier: str) -> str:
    if tier == "none":
        return _("No tier yet")
    return _("Tier %(tier)s", tier=tier)


def _month_rows(months: Sequence[str], *columns: Sequence[Value]) -> tuple[tuple[Value, ...], ...]:
    return tuple((month, *(column[i] for column in columns)) for i, month in enumerate(months))


def _duration_table(
    key: str, title: str, caption: str, clauses: str, figure: dict[str, Any], months: list[str]
) -> Table:
    per = figure["months"]
    total = figure["total"]
    return Table(
        key=key,
        title=title,
        caption=caption,
        clauses=clauses,
        columns=(
            Column(_("Month"), MONTH),
            Column(_("Incidents counted"), COUNT),
            Column(_("Mean"), SECONDS),
            Column(_("90th percentile"), SECONDS),
        ),
        rows=_month_rows(
            months,
            [m["count"] for m in per],
            [m["mean_seconds"] for m in per],
            [m["p90_seconds"] for m in per],
        ),
        total=(_("Whole period"), total["count"], total["mean_seconds"], total["p90_seconds"]),
    )


def _tier_table(
    key: str, title: str, caption: str, rows: list[dict[str, int]], months: list[str]
) -> Table:
    return Table(
        key=key,
        title=title,
        caption=caption,
        clauses="5.1–5.5, 6(1), 6(2)",
        columns=(
            Column(_("Month"), MONTH),
            *(Column(tier_name(t), COUNT) for t in TIERS),
            Column(_("Total"), COUNT),
        ),
        rows=_month_rows(
            months, *([r[t] for r in rows] for t in TIERS), [sum(r.values()) for r in rows]
        ),
        total=(
            _("Whole period"),
            *(sum(r[t] for r in rows) for t in TIERS),
            sum(sum(r.values()) for r in rows),
        ),
    )


def build_tables(f: dict[str, Any]) -> list[Table]:
    """Every figure's table, in the page's order, with headers in the current language."""
    months: list[str] = f["months"]
    incidents: list[dict[str, int]] = f["incidents_by_grade"]
    reports: list[dict[str, Any]] = f["reports"]
    totals = f["totals"]
    return [
        Table(
            key="incidents",
            title=_("Incidents per month by grade"),
            caption=_("Counted in the month they were logged, by their grade now."),
            clauses="",
            columns=(
                Column(_("Month"), MONTH),
                *(Column(name_in(GRADE_NAMES, g), COUNT) for g in GRADES),
                Column(_("Total"), COUNT),
            ),
            rows=_month_rows(
                months,
                *([m[g] for m in incidents] for g in GRADES),
                [sum(m.values()) for m in incidents],
            ),
            total=(
                _("Whole period"),
                *(totals["incidents"][g] for g in GRADES),
                sum(totals["incidents"].values()),
            ),
        ),
        Table(
            key="reports",
            title=_("Reports on time"),
            caption=_(
                "Reporting obligations counted in the month they were due: filed on time, "
                "filed late, or not filed by the deadline."
            ),
            clauses=_("CAC measures Art. 4; not reported as required: 5.1(a), 5.2(a), 5.3(a)"),
            columns=(
                Column(_("Month"), MONTH),
                Column(_("Filed on time"), COUNT),
                Column(_("Filed late"), COUNT),
                Column(_("Missed"), COUNT),
                Column(_("Share on time"), SHARE),
            ),
            rows=_month_rows(
                months,
                [r["met"] for r in reports],
                [r["late"] for r in reports],
                [r["missed"] for r in reports],
                [r["on_time_share"] for r in reports],
            ),
            total=(
                _("Whole period"),
                totals["reports"]["met"],
                totals["reports"]["late"],
                totals["reports"]["missed"],
                totals["reports"]["on_time_share"],
            ),
        ),
        Table(
            key="breaches",
            title=_("Breached deadlines"),
            caption=_("Reporting deadlines that passed unfulfilled, in the month they passed."),
            clauses=_("not reported as required: 5.1(a), 5.2(a), 5.3(a)"),
            columns=(Column(_("Month"), MONTH), Column(_("Breaches"), COUNT)),
            rows=_month_rows(months, f["breaches"]),
            total=(_("Whole period"), totals["breaches"]),
        ),
        _duration_table(
            "acknowledge",
            _("Time to acknowledge"),
            _("From logging to the first acknowledgement, in the month of the acknowledgement."),
            "",
            f["acknowledge"],
            months,
        ),
        _duration_table(
            "resolve",
            _("Time to resolve"),
            _("From detection to the end of handling, in the month handling ended."),
            _("handled promptly: 5.2(c), 5.3(b), 5.4(b)"),
            f["resolve"],
            months,
        ),
        _tier_table(
            "cases_opened",
            _("Accountability cases opened, by tier"),
            _("In the month the case was opened, by the tier it carries now."),
            f["cases_opened"],
            months,
        ),
        _tier_table(
            "cases_decided",
            _("Accountability cases decided, by tier"),
            _("In the month the case was decided, by the tier decided on."),
            f["cases_decided"],
            months,
        ),
    ]
