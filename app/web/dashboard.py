"""The dashboard: what is open, what is due next, what is late, and today's figures.

One page a duty officer keeps open all shift and a leader opens from a Telegram link.
Open incidents are counted and listed by grade in the national warning colours, most
urgent deadline first; beside them the incidents nobody has acknowledged and the
reporting obligations already breached. The page refreshes its panels every
``REFRESH_SECONDS`` (the app setting ``WEB_REFRESH_SECONDS`` overrides it) from
``/live/dashboard.json`` (rendered by the same templates), and
every countdown ticks against the server's clock.

Every query is bounded (``LIMIT``) and uses the indexes on status and grade, so the page
costs the same with a hundred incidents or a hundred thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, jsonify, render_template
from flask_login import login_required
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
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


def _open(viewer: Capabilities) -> list[ColumnElement[bool]]:
    return [visible_filter(viewer), Incident.status.in_(OPEN_STATUSES)]


def _unacknowledged() -> ColumnElement[bool]:
    """Nobody has acknowledged it, or an upgrade's new chain waits for acknowledgement."""
    waiting_chain = exists(
        select(EscalationChain.id).where(
            EscalationChain.incident_id == Incident.id,
            EscalationChain.ended_at.is_(None),
            EscalationChain.acknowledged_at.is_(None),
        )
    )
    return or_(Incident.acknowledged_at.is_(None), waiting_chain)


def _by_urgency(
    session: Session, conditions: list[ColumnElement[bool]], limit: int
) -> list[Incident]:
    """Open incidents, the nearest unfulfilled deadline first, then the newest.

    The nearest deadline is a correlated subquery: it runs only for the open incidents
    the conditions select, through the obligation table's (incident_id, name) index.
    """
    nearest = (
        select(func.min(Obligation.due_at))
        .where(
            Obligation.incident_id == Incident.id,
            Obligation.status.in_(UNFULFILLED),
            Obligation.due_at.is_not(None),
        )
        .scalar_subquery()
    )
    stmt = (
        select(Incident)
        .where(*conditions)
        .order_by(nearest.is_(None), nearest, Incident.id.desc())
        .limit(limit)
        .options(selectinload(Incident.responsible_department))
    )
    return list(session.scalars(stmt))


def grade_groups(session: Session, viewer: Capabilities) -> list[GradeGroup]:
    counts = dict(
        session.execute(
            select(Incident.grade, func.count()).where(*_open(viewer)).group_by(Incident.grade)
        ).all()
    )
    groups = []
    for grade in reversed(GRADES):  # especially major first
        count = int(counts.get(grade, 0))
        rows = (
            _by_urgency(session, [*_open(viewer), Incident.grade == grade], PER_GRADE)
            if count
            else []
        )
        groups.append(GradeGroup(grade, count, rows))
    return groups


def unacknowledged(session: Session, viewer: Capabilities) -> tuple[int, list[Incident]]:
    conditions = [*_open(viewer), _unacknowledged()]
    count = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    rows = list(
        session.scalars(
            select(Incident)
            .where(*conditions)
            .order_by(Incident.detected_at, Incident.id)
            .limit(LIST_LIMIT)
        )
    )
    return count, rows


def breaches(session: Session, viewer: Capabilities, at: datetime) -> tuple[int, list[Breach]]:
    """Reports owed and past their deadline: breached (missed) and not filed yet, or
    pending past due before the worker's next sweep marks them.

    A closed incident owes nothing (closing is refused while a report is owed), so the
    search starts from the incidents not closed, through the status index.
    """
    breached = or_(
        Obligation.status == "missed",
        and_(Obligation.status == "pending", Obligation.due_at <= at),
    )
    base = (
        select(Obligation, Incident)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(Incident.status.in_(NOT_CLOSED), breached, visible_filter(viewer))
    )
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(Obligation.due_at, Obligation.id).limit(LIST_LIMIT))
    return count, [Breach(incident, as_deadline(ob)) for ob, incident in rows.all()]


# Today's figures read every incident; recomputing them on each refresh of each open
# dashboard would make the page's cost grow with the whole record. They change only when
# the record does (every change appends to the audit chain, so the chain's head moves)
# or as time passes (due within the hour, today), hence the key.
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
    groups = grade_groups(session, viewer)
    unacked_count, unacked = unacknowledged(session, viewer)
    breach_count, breached = breaches(session, viewer, at)
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
