"""The fact "reported as required" (未按要求上报 negated: 5.1(a), 5.2(a), 5.3(a)), one way.

Every face and the accountability facts read it here, so that none can disagree:

- **no** (``False``) — some obligation was filed late, was missed, or is still pending
  past its deadline (even before the sweep has marked it missed);
- **not yet known** (``None``) — none has failed, but some report is still due within
  its deadline (or its window has not opened yet: the final report before resolution);
- **yes** (``True``) — every obligation was met or waived (or none was owed).

The rule is one classification of an obligation (:func:`obligation_state`, and the same
test in SQL, :func:`state_rank`): an incident takes the worst state of its obligations.
:func:`reported_as_required` answers for one incident with the obligations behind the
answer; :func:`counts` answers for every incident at once in one query (the stats).
Whether a report was false or concealed (谎报/瞒报) is an investigation finding, which
the accountability engine adds on top (``accountability.rules``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from escalation.models import Obligation
from incidents.models import Incident

State = Literal["failed", "due", "done"]

#: An obligation's state -> its rank; an incident takes its obligations' highest.
RANK: Final[dict[State, int]] = {"done": 0, "due": 1, "failed": 2}
#: An incident's highest rank -> the answer.
ANSWER: Final[dict[int, bool | None]] = {0: True, 1: None, 2: False}
#: The answer -> its key in :func:`counts` and the faces.
ANSWER_KEY: Final[dict[bool | None, str]] = {True: "yes", None: "not_yet_known", False: "no"}


def obligation_state(status: str, due_at: datetime | None, now: datetime) -> State:
    """``failed``: late, missed, or pending with its deadline reached; ``due``: pending
    within its deadline (or before its window opens); ``done``: met or waived."""
    if status in ("late", "missed"):
        return "failed"
    if status == "pending":
        # The sweep marks a breach at ``due_at`` (``mark_missed``): the same instant here.
        return "failed" if due_at is not None and due_at <= now else "due"
    return "done"


def state_rank(now: datetime) -> ColumnElement[int]:
    """:func:`obligation_state` as a SQL rank over ``Obligation`` rows (see ``RANK``)."""
    return case(
        (
            or_(
                Obligation.status.in_(("late", "missed")),
                and_(
                    Obligation.status == "pending",
                    Obligation.due_at.is_not(None),
                    Obligation.due_at <= now,
                ),
            ),
            RANK["failed"],
        ),
        (Obligation.status == "pending", RANK["due"]),
        else_=RANK["done"],
    )


@dataclass(frozen=True)
class Line:
    """One obligation behind the answer: its name, titles, and why it counts."""

    name: str
    title_zh: str
    title_en: str
    #: ``late``, ``missed`` or ``overdue`` (pending past its deadline, not yet swept) for
    #: a failed one; ``pending`` for one still due.
    status: str


@dataclass(frozen=True)
class Reporting:
    """The answer for one incident, with the obligations that decide it."""

    value: bool | None
    failed: tuple[Line, ...]
    due: tuple[Line, ...]

    @property
    def key(self) -> str:
        return ANSWER_KEY[self.value]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reported_as_required": self.value,
            "state": self.key,
            "late_or_missed": [line.name for line in self.failed],
            "still_due": [line.name for line in self.due],
        }


def of_obligations(rows: list[Obligation], now: datetime) -> Reporting:
    """The answer for these obligations (one incident's) at ``now``."""
    failed: list[Line] = []
    due: list[Line] = []
    for ob in rows:
        state = obligation_state(ob.status, ob.due_at, now)
        if state == "failed":
            status = "overdue" if ob.status == "pending" else ob.status
            failed.append(Line(ob.name, ob.title_zh, ob.title_en, status))
        elif state == "due":
            due.append(Line(ob.name, ob.title_zh, ob.title_en, "pending"))
    rank = RANK["failed"] if failed else RANK["due"] if due else RANK["done"]
    return Reporting(ANSWER[rank], tuple(failed), tuple(due))


def reported_as_required(session: Session, incident_id: int, now: datetime) -> Reporting:
    """Whether ``incident_id`` was reported as required at ``now`` (see the module doc)."""
    rows = list(
        session.scalars(
            select(Obligation).where(Obligation.incident_id == incident_id).order_by(Obligation.id)
        )
    )
    return of_obligations(rows, now)


def counts(session: Session, now: datetime) -> dict[str, int]:
    """How many incidents are reported as required (``yes``), not (``no``), or not yet
    known, at ``now``: one aggregate query, the same rule as :func:`reported_as_required`."""
    # Per incident that owes anything, its worst rank; an incident that owes nothing is
    # "yes". Grouping the obligation rows alone (no join) keeps this one pass.
    worst = (
        select(func.max(state_rank(now)).label("rank")).group_by(Obligation.incident_id).subquery()
    )
    found = {key: 0 for key in ANSWER_KEY.values()}
    owing = 0
    for rank, count in session.execute(
        select(worst.c.rank, func.count()).group_by(worst.c.rank)
    ).all():
        found[ANSWER_KEY[ANSWER[int(rank)]]] += int(count)
        owing += int(count)
    total = int(session.scalar(select(func.count()).select_from(Incident)) or 0)
    found[ANSWER_KEY[True]] += total - owing
    return found
