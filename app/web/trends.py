"""The trends page: the bureau's figures month by month over a chosen period.

``/trends?from=2026-01&to=2026-12`` draws each figure of ``accountability.trends`` as an
SVG chart (``app.web.charts``) beside its table; ``/trends.xlsx`` is the same tables as a
workbook for the monthly report to the leading group (``app.web.trends_export``). The
tables are built once (``app.web.trend_tables``), as rows of raw numbers, and both the page
and the workbook render those rows: what the page shows and what the workbook holds cannot
drift apart. ``app.web.trend_charts`` turns the tables into charts.

The figures count every incident of the bureau, so, like ``GET /api/v1/stats``, they are
for those who see every incident (``sees_all``); anyone else is refused rather than shown
bureau-wide numbers about incidents outside their departments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, render_template, request, url_for
from flask_login import login_required

from accountability import trends as trend_figures
from app.extensions import db, now, services
from app.web import bp
from app.web.translate import _
from app.web.trend_charts import build_charts
from app.web.trend_tables import build_tables, cell_text
from app.web.viewer import caps
from escalation.trends import Period, parse_period
from incidents.errors import Forbidden, ValidationError


def may_see_trends() -> bool:
    return caps().sees_all


def _require() -> None:
    if not may_see_trends():
        raise Forbidden(
            _(
                "The trends count every incident of the bureau; they are for those who see "
                "every incident."
            )
        )


# --- the period ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    label: str
    first: date
    last: date

    @property
    def query(self) -> dict[str, str]:
        return {"from": f"{self.first:%Y-%m}", "to": f"{self.last:%Y-%m}"}


def presets(at: datetime) -> list[Preset]:
    local = at.astimezone(services().policy.tz).date()
    this_month = date(local.year, local.month, 1)
    twelve_back = date(local.year - 1 + (local.month == 12), local.month % 12 + 1, 1)
    return [
        Preset(_("This year"), date(local.year, 1, 1), this_month),
        Preset(_("Last 12 months"), twelve_back, this_month),
        Preset(_("Last year"), date(local.year - 1, 1, 1), date(local.year - 1, 12, 1)),
    ]


def requested_period() -> Period:
    """The period in the query string (``from``, ``to``); 422 naming the field if bad."""
    return parse_period(
        request.args.get("from") or None,
        request.args.get("to") or None,
        now=now(),
        tz=services().policy.tz,
    )


def figures_for(period: Period) -> dict[str, Any]:
    return trend_figures.figures(db(), period, services().policy.tz)


def _translate(msgid: str) -> str:
    return _(msgid)


@bp.get("/trends")
@login_required
def trends() -> Any:
    _require()
    at = now()
    try:
        period = requested_period()
    except ValidationError as exc:
        context = {
            "error": exc,
            "error_text": exc.render(_translate),
            "presets": presets(at),
            "chosen": {"from": request.args.get("from", ""), "to": request.args.get("to", "")},
        }
        return render_template("trends.html", **context), 422
    tables = build_tables(figures_for(period))
    chosen = {"from": period.label(period.first), "to": period.label(period.last)}
    return render_template(
        "trends.html",
        error=None,
        presets=presets(at),
        chosen=chosen,
        tables=tables,
        charts=build_charts(tables),
        cell_text=cell_text,
        export_url=url_for("web.trends_xlsx") + "?" + urlencode(chosen),
        at=at,
    )


@bp.get("/trends.xlsx")
@login_required
def trends_xlsx() -> Response:
    from app.web.trends_export import workbook_bytes

    _require()
    period = requested_period()
    data = workbook_bytes(figures_for(period), period=period, at=now())
    name = f"fenghuo-trends-{period.label(period.first)}-{period.label(period.last)}.xlsx"
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
