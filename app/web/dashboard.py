"""The dashboard: what is open, what is due next, what is late, and today's figures.

One page a duty officer keeps open all shift and a leader opens from a Telegram link.
Open incidents are counted and listed by grade in the national warning colours, most
urgent deadline first; beside them the incidents nobody has acknowledged and the
reporting obligations already breached. The page refreshes its panels every
``REFRESH_SECONDS`` (the app setting ``WEB_REFRESH_SECONDS`` overrides it) from
``/live/dashboard.json`` (rendered by the same templates), and
every countdown ticks against the server's clock.

For a viewer who does not see everything, what they see of the incidents not closed is
read once, from the open incidents' index (``seen_by``), and the counts are taken from it.
Every other query is bounded (``LIMIT``) and goes through an index — the partial indexes on
open incidents, unacknowledged open incidents, running chains and pending or missed
obligations (their statuses written into the SQL as literals, which SQLite needs to
match a partial index) — so the page's cost follows the incidents still open, not the
whole record (p95 over HTTP at 1,000,000 incidents, 15,386 open: 87–158 ms).
``bench/dashboard_queries.py`` prints each query's plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, jsonify, render_template
from flask_login import login_required
from sqlalchemy import ColumnElement, Select, func, literal, select, union, union_all
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from app.extensions import db, now, services
from app.web import bp
from app.web.deadlines import UNFULFILLED, Deadline, as_deadline, deadlines_for
from app.web.paging_words import current_banner
from app.web.roster_warnings import roster_warnings
from app.web.templating import local
from app.web.viewer import caps
from escalation.models import EscalationChain, Obligation
from escalation.stats import figures
from incidents.audit import AuditHead
from incidents.grading import GRADES
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident
from incidents.permissions import Capabilities, visible_filter

REFRESH_SECONDS = 15
PER_GRADE = 8
LIST_LIMIT = 12
NOT_CLOSED = (*OPEN_STATUSES, "resolved")


@dataclass(frozen=True)
class GradeGroup:
    grade: str
    count: int
    incidents: list[Incident]


@dataclass(frozen=True)
class Breach:
    incident: Incident
    deadline: Deadline


def _const(value: str) -> ColumnElement[str]:
    """``value`` written into the SQL, so the planner can match a partial index to it."""
    return literal(value, literal_execute=True)


def _is_open() -> ColumnElement[bool]:
    # Same terms, same order as incidents.models.OPEN_INCIDENT (ix_incident_open).
    return Incident.status.in_([_const(s) for s in OPEN_STATUSES])


def _open(viewer: Capabilities) -> list[ColumnElement[bool]]:
    return [visible_filter(viewer), _is_open()]


def _unacknowledged_ids() -> Select[tuple[int]]:
    """Nobody has acknowledged it, or an upgrade's new chain waits for acknowledgement.

    Two indexed sets joined by UNION — open incidents never acknowledged
    (ix_incident_unacknowledged) and running chains nobody acknowledged
    (ix_chain_waiting) — rather than ``acknowledged_at IS NULL OR EXISTS (…chain…)``:
    the OR forced a look at every open incident's chains, and on PostgreSQL a cost
    estimate high enough to pay for JIT compilation, most of the query's time.
    """
    never = select(Incident.id).where(_is_open(), Incident.acknowledged_at.is_(None))
    return select(union(never, _waiting_chains()).subquery().c[0])


def _waiting_chains() -> Select[int]:
    """The incidents of running chains nobody acknowledged (ix_chain_waiting)."""
    return select(EscalationChain.incident_id).where(
        EscalationChain.ended_at.is_(None), EscalationChain.acknowledged_at.is_(None)
    )


def _owed_by_due(
    session: Session, conditions: list[ColumnElement[bool]], status: str, page: int
) -> list[tuple[datetime, int]]:
    """The first ``page`` unfulfilled deadlines of one status (``UNFULFILLED``) whose
    incident meets ``conditions``, as (due, incident), in due order: read along the
    status's partial index, which holds open or resolved incidents' rows only."""
    rows = session.execute(
        select(Obligation.due_at, Obligation.incident_id)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(Obligation.status == _const(status), Obligation.due_at.is_not(None), *conditions)
        .order_by(Obligation.due_at, Obligation.incident_id.desc())
        .limit(page)
    ).all()
    return [(due, incident_id) for due, incident_id in rows if due is not None]


# A grade with at most this many open incidents (that the viewer sees) is listed from
# its incidents, not by walking every open incident's deadlines: the walk reads on until
# it has found a page of the grade's, which for a rare grade is nearly all of them.
FEW = 500


def _by_urgency(
    session: Session, conditions: list[ColumnElement[bool]], limit: int, count: int | None = None
) -> list[Incident]:
    """Open incidents, the nearest unfulfilled deadline first, then the newest.

    ``count``: how many incidents meet ``conditions``, when known. Up to ``FEW`` of them
    are ordered from their own deadlines (:func:`_nearest_first`). Otherwise walks each
    status's deadlines in due order along its partial index (stopping after a page) and
    merges the walks: an incident's first deadline met is its nearest. Taking the
    nearest deadline of every open incident first and sorting them all cost 110 ms per
    grade at 1,000,000 incidents (15,000 open); walking for a grade of 212 open cost
    most of a department head's dashboard. Incidents owing nothing follow, newest
    first, when fewer than ``limit`` owe something.
    """
    if count is not None and count <= FEW:
        return _incidents(session, _nearest_first(session, conditions, limit))
    page = limit * 4  # an incident owes a few reports at most: read on if short
    while True:
        walks = [_owed_by_due(session, conditions, status, page) for status in UNFULFILLED]
        # The merged order is complete up to the end of the shortest full walk.
        ends = [walk[-1] for walk in walks if len(walk) == page]
        bound = min(((d, -i) for d, i in ends), default=None)
        merged = sorted((d, -i) for walk in walks for d, i in walk)
        chosen: list[int] = []
        for key in merged:
            if bound is not None and key > bound:
                break
            if -key[1] not in chosen:
                chosen.append(-key[1])
        if len(chosen) >= limit or bound is None:
            break
        page *= 4
    if len(chosen) < limit:  # every incident that owes something is chosen
        chosen += session.scalars(
            select(Incident.id)
            .where(*conditions, Incident.id.not_in(chosen))
            .order_by(Incident.id.desc())
            .limit(limit - len(chosen))
        ).all()
    return _incidents(session, chosen[:limit])


def _nearest_first(
    session: Session, conditions: list[ColumnElement[bool]], limit: int
) -> list[int]:
    """The first ``limit`` incidents meeting ``conditions`` in the walk's order — nearest
    unfulfilled deadline first (the newer incident first on a tie), then those owing
    nothing, newest first — from each incident's own obligations."""
    nearest = (
        select(func.min(Obligation.due_at))
        .where(
            Obligation.incident_id == Incident.id,
            Obligation.status.in_(UNFULFILLED),
            Obligation.due_at.is_not(None),
        )
        .scalar_subquery()
    )
    ranked = select(Incident.id.label("id"), nearest.label("nearest")).where(*conditions).subquery()
    return list(
        session.scalars(
            select(ranked.c.id)
            .order_by(ranked.c.nearest.is_(None), ranked.c.nearest, ranked.c.id.desc())
            .limit(limit)
        )
    )


def _incidents(session: Session, chosen: list[int]) -> list[Incident]:
    """The incidents ``chosen``, in that order, with their departments."""
    if not chosen:
        return []
    found = {
        i.id: i
        for i in session.scalars(
            select(Incident)
            .where(Incident.id.in_(chosen))
            .options(selectinload(Incident.responsible_department))
        )
    }
    return [found[i] for i in chosen if i in found]


@dataclass(frozen=True)
class Seen:
    """The incidents not closed that a viewer who does not see everything may read,
    read once for the whole page (:func:`seen_by`): the grade counts, the
    unacknowledged and the breaches are then counted from it, instead of each count
    testing every open incident against the viewer's departments and systems again
    (three passes of 15,000 probes at 1,000,000 incidents)."""

    # id -> (grade, open, never acknowledged, detected at)
    rows: dict[int, tuple[str, bool, bool, datetime]]

    def open_ids(self, grade: str | None = None) -> list[int]:
        return [i for i, (g, is_open, _, _) in self.rows.items() if is_open and grade in (None, g)]


def seen_by(session: Session, viewer: Capabilities) -> Seen | None:
    """What ``viewer`` sees of the incidents not closed; None when they see everything
    (the counts then read the indexes alone)."""
    if viewer.sees_all:
        return None

    def part(is_open: bool, status: ColumnElement[bool]) -> Select[int, str, bool, bool, datetime]:
        return select(
            Incident.id,
            Incident.grade,
            literal(is_open),
            Incident.acknowledged_at.is_(None),
            Incident.detected_at,
        ).where(status, visible_filter(viewer))

    # The open ones through their partial index, the resolved through the status
    # index: asked for all five statuses at once, SQLite read the whole table.
    rows = session.execute(
        union_all(part(True, _is_open()), part(False, Incident.status == _const("resolved")))
    ).all()
    return Seen({i: (g, bool(o), bool(n), d) for i, g, o, n, d in rows})


def grade_groups(
    session: Session, viewer: Capabilities, seen: Seen | None = None
) -> list[GradeGroup]:
    if seen is None:
        counts = dict(
            session.execute(
                select(Incident.grade, func.count()).where(*_open(viewer)).group_by(Incident.grade)
            ).all()
        )
    else:
        counts = Counter(seen.rows[i][0] for i in seen.open_ids())
    groups = []
    for grade in reversed(GRADES):  # especially major first
        count = int(counts.get(grade, 0))
        if not count:
            rows = []
        elif seen is not None and count <= FEW:  # the viewer's few of the grade, by id
            rows = _by_urgency(session, [Incident.id.in_(seen.open_ids(grade))], PER_GRADE, count)
        else:
            conditions = [*_open(viewer), Incident.grade == grade]
            rows = _by_urgency(session, conditions, PER_GRADE, count)
        groups.append(GradeGroup(grade, count, rows))
    return groups


def unacknowledged(
    session: Session, viewer: Capabilities, seen: Seen | None = None
) -> tuple[int, list[Incident]]:
    if seen is not None:
        # The running chains nobody acknowledged (their index alone), and the viewer's
        # open incidents never acknowledged.
        waiting = set(session.scalars(_waiting_chains()))
        ids = [
            i
            for i, (_, is_open, never, _) in seen.rows.items()
            if is_open and (never or i in waiting)
        ]
        ids.sort(key=lambda i: (seen.rows[i][3], i))
        return len(ids), _incidents(session, ids[:LIST_LIMIT])
    conditions = [*_open(viewer), Incident.id.in_(_unacknowledged_ids())]
    # The count rides on the first page (a window over every row the page is cut
    # from): one pass over the unacknowledged, not one to count and one to list.
    first = session.execute(
        select(Incident.id, func.count().over())
        .where(*conditions)
        .order_by(Incident.detected_at, Incident.id)
        .limit(LIST_LIMIT)
    ).all()
    return (first[0][1] if first else 0), _incidents(session, [i for i, _ in first])


def breaches(
    session: Session, viewer: Capabilities, at: datetime, seen: Seen | None = None
) -> tuple[int, list[Breach]]:
    """Reports owed and past their deadline: breached (missed) and not filed yet, or
    pending past due before the worker's next sweep marks them.

    A closed incident owes nothing (closing is refused while a report is owed), so the
    search starts from the incidents not closed, through the status index.
    """
    # Two indexed sets (ix_obligation_missed, ix_obligation_pending_due) joined by
    # UNION ALL (disjoint: one status each); an OR of the two read every obligation.
    # Both indexes hold the incident too: the count reads no obligation row.
    breached = union_all(
        select(Obligation.id, Obligation.incident_id, Obligation.due_at).where(
            Obligation.status == _const("missed")
        ),
        select(Obligation.id, Obligation.incident_id, Obligation.due_at).where(
            Obligation.status == _const("pending"), Obligation.due_at <= at
        ),
    ).subquery("breached")
    if seen is not None:
        # The two indexes alone, in due order (ids only: no time converted per row),
        # kept where the viewer sees the incident.
        owed = [
            i
            for i, incident_id in session.execute(
                select(breached.c.id, breached.c.incident_id).order_by(
                    breached.c.due_at, breached.c.id
                )
            )
            if incident_id in seen.rows
        ]
        count, ids = len(owed), owed[:LIST_LIMIT]
    else:
        shown = [Incident.status.in_([_const(s) for s in NOT_CLOSED]), visible_filter(viewer)]
        # The count rides on the first page, as for the unacknowledged.
        first = session.execute(
            select(breached.c.id, func.count().over())
            .join(Incident, Incident.id == breached.c.incident_id)
            .where(*shown)
            .order_by(breached.c.due_at, breached.c.id)
            .limit(LIST_LIMIT)
        ).all()
        count = first[0][1] if first else 0
        ids = [i for i, _ in first]
    rows = {
        ob.id: (ob, incident)
        for ob, incident in session.execute(
            select(Obligation, Incident)
            .join(Incident, Incident.id == Obligation.incident_id)
            .where(Obligation.id.in_(ids))
        ).all()
    }
    return count, [Breach(rows[i][1], as_deadline(rows[i][0])) for i in ids if i in rows]


# Today's figures come from the counters and indexed sets of escalation.tallies (a
# handful of statements, no table read whole); each open dashboard refreshing reads
# them again only when the record changed (every change appends to the audit chain, so
# its head moves) or the 30 s bucket of "due within the hour" and "today" turned.
_FIGURES: dict[tuple[int, str, int, int], dict[str, Any]] = {}
FIGURES_SECONDS = 30


def cached_figures(session: Session, at: datetime) -> dict[str, Any]:
    """``escalation.stats.figures`` at ``at``, reused while nothing has changed."""
    policy = services().policy
    head = session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
    key = (id(services()), policy.timezone, int(head), int(at.timestamp()) // FIGURES_SECONDS)
    found = _FIGURES.get(key)
    if found is None:
        found = figures(session, now=at, tz=policy.tz)
        _FIGURES.clear()  # one entry per process: only the newest is ever asked for
        _FIGURES[key] = found
    return found


def dashboard_context() -> dict[str, Any]:
    session = db()
    viewer = caps()
    at = now()
    seen = seen_by(session, viewer)
    groups = grade_groups(session, viewer, seen)
    unacked_count, unacked = unacknowledged(session, viewer, seen)
    breach_count, breached = breaches(session, viewer, at, seen)
    listed = [i.id for g in groups for i in g.incidents] + [i.id for i in unacked]
    return {
        "groups": groups,
        "open_total": sum(g.count for g in groups),
        "unacked": unacked,
        "unacked_count": unacked_count,
        "breaches": breached,
        "breach_count": breach_count,
        "deadlines": deadlines_for(session, listed),
        "figures": cached_figures(session, at),
        "paging": current_banner(),
        "roster": roster_warnings(session, at),
        "refresh_seconds": current_app.config.get("WEB_REFRESH_SECONDS", REFRESH_SECONDS),
        "at": at,
    }


PANELS = ("paging", "roster", "tiles", "open", "unacked", "breaches", "figures")


@bp.get("/")
@login_required
def dashboard() -> str:
    return render_template("dashboard.html", **dashboard_context())


@bp.get("/live/dashboard.json")
@login_required
def dashboard_live() -> Response:
    """The dashboard's panels, rendered, with the server's time (for the countdowns)."""
    context = dashboard_context()
    panels = {name: render_template(f"dashboard/_{name}.html", **context) for name in PANELS}
    return jsonify(
        {
            "now": context["at"].isoformat(),
            "now_local": local(context["at"], "%H:%M:%S"),
            "open": context["open_total"],
            "unacknowledged": context["unacked_count"],
            "breached": context["breach_count"],
            "panels": panels,
        }
    )
