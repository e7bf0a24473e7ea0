"""What the dashboard says about the duty roster: the coming coverage gaps, and a holiday
arrangement still to confirm.

A gap is a span in the next ``GAP_DAYS`` days when a role that has a roster has nobody
on duty (``incidents.rosters.coverage_gaps``): a page to ``on_duty:ROLE`` would then fall
back to the position holder. The holiday warning names the year whose arrangement still needs
confirming (``incidents.rosters.holiday_warning``): the current year while it is
unconfirmed, and from November next year, when the State Council publishes it.

The dashboard refreshes every few seconds; resolving fourteen days of three rosters each
time would make every open dashboard cost a few hundred queries. The answer changes only
when a roster does (every change is audited, so the audit chain's head moves) or as time
passes, hence the cache key, as for today's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import services
from incidents import rosters
from incidents.audit import AuditHead

GAP_DAYS = 14
LISTED_GAPS = 6
CACHE_SECONDS = 60


@dataclass(frozen=True)
class Gap:
    role: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class RosterWarnings:
    gaps: list[Gap]
    gap_count: int
    unconfirmed_year: int | None

    def __bool__(self) -> bool:
        return bool(self.gaps) or self.unconfirmed_year is not None


_CACHE: dict[tuple[int, str, int, int], RosterWarnings] = {}


def roster_warnings(session: Session, at: datetime) -> RosterWarnings:
    """The gaps in ``[at, at + GAP_DAYS)`` (the first ``LISTED_GAPS``) and the year to
    confirm, reused while nothing has changed."""
    policy = services().policy
    head = session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
    key = (id(services()), policy.timezone, int(head), int(at.timestamp()) // CACHE_SECONDS)
    found = _CACHE.get(key)
    if found is None:
        gaps = rosters.coverage_gaps(session, at, at + timedelta(days=GAP_DAYS))
        found = RosterWarnings(
            gaps=[Gap(role, start, end) for role, start, end in gaps[:LISTED_GAPS]],
            gap_count=len(gaps),
            unconfirmed_year=rosters.holiday_warning(session, at, policy.timezone),
        )
        _CACHE.clear()  # one entry per process: only the newest is ever asked for
        _CACHE[key] = found
    return found
