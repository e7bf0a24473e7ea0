"""Each listed incident's nearest reporting deadline, for many incidents in one query.

The incident page asks ``escalation.queries`` about one incident; a list of fifty would
ask fifty times, so lists read the obligation rows for all of their incidents at once.
A breached obligation still unfiled (``missed``) counts: it is the most urgent thing on
the row and shows as overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.web.templating import pick
from config.policy import PolicyError, parse_duration
from escalation.models import Obligation

UNFULFILLED = ("pending", "missed")


@dataclass(frozen=True)
class Deadline:
    incident_id: int
    name: str
    title: str
    to: str
    due_at: datetime
    window: int | None  # seconds, for the countdown's amber last quarter
    status: str

    def overdue(self, now: datetime) -> bool:
        return self.due_at <= now


def window_seconds(obligation: Obligation) -> int | None:
    try:
        return int(parse_duration(obligation.window, key="window").total_seconds())
    except PolicyError:
        return None


def as_deadline(obligation: Obligation) -> Deadline:
    assert obligation.due_at is not None
    return Deadline(
        incident_id=obligation.incident_id,
        name=obligation.name,
        title=pick((obligation.title_zh, obligation.title_en)),
        to=obligation.to,
        due_at=obligation.due_at,
        window=window_seconds(obligation),
        status=obligation.status,
    )


def deadlines_for(session: Session, incident_ids: Sequence[int]) -> dict[int, Deadline]:
    """The earliest unfulfilled deadline of each incident in ``incident_ids`` that has one."""
    if not incident_ids:
        return {}
    rows = session.scalars(
        select(Obligation)
        .where(
            Obligation.incident_id.in_(list(incident_ids)),
            Obligation.status.in_(UNFULFILLED),
            Obligation.due_at.is_not(None),
        )
        .order_by(Obligation.incident_id, Obligation.due_at, Obligation.id)
    )
    found: dict[int, Deadline] = {}
    for obligation in rows:
        if obligation.incident_id not in found:
            found[obligation.incident_id] = as_deadline(obligation)
    return found
