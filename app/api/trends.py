"""``GET /trends``: the figures of the trends page month by month over a period, as JSON.

``?from=2026-01&to=2026-12`` (``YYYY-MM``, both optional: by default the twelve months up
to now, in the policy's time zone). The same figures as ``/trends`` in the web face and its
xlsx (``accountability.trends.figures``); bureau-wide, so only for those who see every
incident (``sees_all``), as ``GET /stats``. A malformed month, ``from`` after ``to``, a
start in the future or more than 36 months is a 422 naming the parameter.

Declared through ``app.api.contract``: the query and response models are the document's
schemas (``from`` is a Python keyword: the field is ``from_`` with the alias ``from``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from accountability import trends
from app.api.auth import caps
from app.api.contract import Out, Query, endpoint
from app.extensions import db, now, services
from escalation.trends import MAX_MONTHS, parse_period
from incidents.permissions import require

Count = Annotated[int, Field(ge=0)]
Share = Annotated[float | None, Field(ge=0, le=1, description="a fraction; null with nothing due")]
Seconds = Annotated[float | None, Field(ge=0, description="seconds; null with nothing counted")]


class GradeCounts(Out):
    general: Count
    relatively_major: Count
    major: Count
    especially_major: Count


class ReportMonth(Out):
    """Reporting obligations by the month they were due."""

    met: Count
    late: Count
    missed: Count
    on_time_share: Share


class DurationMonth(Out):
    count: Count
    mean_seconds: Seconds
    p90_seconds: Seconds = Field(description="90th percentile, nearest rank; seconds")


class Durations(Out):
    months: list[DurationMonth]
    total: DurationMonth


class TierCounts(Out):
    """Cases by Article 5 tier (0 is 5.5, no accountability); ``none`` before a
    determination has set one."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_name=True)

    tier_0: Count = Field(alias="0")
    tier_1: Count = Field(alias="1")
    tier_2: Count = Field(alias="2")
    tier_3: Count = Field(alias="3")
    tier_4: Count = Field(alias="4")
    none: Count


class TrendTotals(Out):
    incidents: GradeCounts
    reports: ReportMonth
    breaches: Count
    cases_opened: TierCounts
    cases_decided: TierCounts


class Trends(Out):
    """Every list of months has one entry per month of ``months``, in order."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_name=True)

    timezone: str = Field(description="the policy's zone; months are its calendar months")
    from_: str = Field(alias="from", pattern=r"^\d{4}-\d{2}$")
    to: str = Field(pattern=r"^\d{4}-\d{2}$")
    months: list[str]
    incidents_by_grade: list[GradeCounts] = Field(description="by the month they were logged")
    reports: list[ReportMonth]
    breaches: list[Count] = Field(description="deadlines breached, by the month they passed")
    acknowledge: Durations = Field(description="logging to acknowledgement")
    resolve: Durations = Field(description="detection to resolution")
    tiers: list[str]
    cases_opened: list[TierCounts]
    cases_decided: list[TierCounts]
    totals: TrendTotals


class TrendsQuery(Query):
    from_: str | None = Field(
        None,
        alias="from",
        pattern=r"^\d{4}-\d{2}$",
        description="first month, YYYY-MM (default: eleven months before `to`)",
        examples=["2026-01"],
    )
    to: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}$",
        description="last month, YYYY-MM (default: this month)",
        examples=["2026-12"],
    )


@endpoint(
    "get",
    "/trends",
    operation_id="getTrends",
    summary="Figures month by month over a period (the trends page)",
    tag="escalation",
    response=Trends,
    query=TrendsQuery,
    errors=(401, 403, 422),
    description="Bureau-wide, so only for those who see every incident. Months are "
    "calendar months in the policy's time zone; shares are fractions, times seconds. "
    f"At most {MAX_MONTHS} months.",
)
def get_trends(query: TrendsQuery) -> dict[str, Any]:
    require(caps().sees_all, "the bureau-wide figures are for those who see every incident")
    tz = services().policy.tz
    period = parse_period(query.from_, query.to, now=now(), tz=tz)
    figures: dict[str, Any] = trends.figures(db(), period, tz)
    return figures
