"""The trends over a period: ``escalation.trends`` and the accountability cases by tier.

Cases count in the month they were opened (by the tier they carry now; ``none`` while no
determination has set one) and in the month they were decided (by the tier decided on).
One grouped query each, on the month boundaries of ``escalation.trends``.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accountability.models import Case
from accountability.rules import TIER_SANCTIONS
from escalation import trends as incident_trends
from escalation.trends import Period, boundaries, in_period, month_of

#: The tiers as the figures name them: Article 5's 0–4, and ``none`` before a determination.
TIERS: tuple[str, ...] = (*(str(t) for t in sorted(TIER_SANCTIONS)), "none")


def _by_tier(session: Session, column: Any, bounds: list[Any]) -> list[dict[str, int]]:
    rows = [dict.fromkeys(TIERS, 0) for _ in range(len(bounds) - 1)]
    month = month_of(column, bounds)
    for index, tier, count in session.execute(
        select(month, Case.tier, func.count())
        .where(in_period(column, bounds))
        .group_by(month, Case.tier)
    ).all():
        rows[int(index)]["none" if tier is None else str(tier)] += int(count)
    return rows


def figures(session: Session, period: Period, tz: tzinfo) -> dict[str, Any]:
    """Every trend figure over ``period`` (see ``escalation.trends``); JSON-able."""
    out = incident_trends.figures(session, period, tz)
    bounds = boundaries(period, tz)
    opened = _by_tier(session, Case.opened_at, bounds)
    decided = _by_tier(session, Case.decided_at, bounds)
    out["tiers"] = list(TIERS)
    out["cases_opened"] = opened
    out["cases_decided"] = decided
    out["totals"]["cases_opened"] = {t: sum(m[t] for m in opened) for t in TIERS}
    out["totals"]["cases_decided"] = {t: sum(m[t] for m in decided) for t in TIERS}
    return out
