"""The in-app inbox: the notices the escalation layer delivered to the viewer.

Every page, alert and notice reaches its recipients here as well as on their other
channels (escalation's ``inbox`` channel), so nothing depends on Telegram being up.

A page asks for one thing, an acknowledgement: once the incident is acknowledged (by
whoever), its pages in everyone's inbox are *done* — shown struck through with who
acknowledged and when, kept in the list (the record of having been paged stays), and no
longer counted in the header's badge. Other notices (deadline warnings, reports to
confirm, outcomes) are not ended by an acknowledgement and stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import redirect, render_template, url_for
from flask_login import login_required
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from app.extensions import db, now
from app.web import bp
from app.web.session_scope import writing
from app.web.viewer import user
from escalation.models import InboxItem
from escalation.queries import inbox as inbox_items
from escalation.queries import mark_read
from incidents.models import Incident
from incidents.org import Person

# The notices that page someone to acknowledge: an escalation step, and the same page
# passed one up because its first recipient could not be reached.
ACKNOWLEDGE_KINDS = ("step", "fallback")


@dataclass(frozen=True)
class Acknowledged:
    at: datetime
    by: str | None


def _acknowledged(incident_ids: set[int]) -> dict[int, Acknowledged]:
    if not incident_ids:
        return {}
    rows = db().execute(
        select(Incident.id, Incident.acknowledged_at, Person.name)
        .outerjoin(Person, Person.id == Incident.acknowledged_by_id)
        .where(Incident.id.in_(incident_ids), Incident.acknowledged_at.is_not(None))
    )
    return {incident_id: Acknowledged(at, name) for incident_id, at, name in rows if at is not None}


def with_done(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items, each with ``done`` (an :class:`Acknowledged`, or None)."""
    acknowledged = _acknowledged({int(i["incident_id"]) for i in items})
    return [
        {
            **item,
            "done": acknowledged.get(int(item["incident_id"]))
            if item["kind"] in ACKNOWLEDGE_KINDS
            else None,
        }
        for item in items
    ]


@bp.get("/inbox")
@login_required
def inbox() -> str:
    items = with_done(inbox_items(db(), user().person_id, limit=100))
    return render_template("inbox.html", items=items)


@bp.post("/inbox/read")
@login_required
def inbox_read() -> Response:
    with writing() as session:
        mark_read(session, person_id=user().person_id, now=now())
    return redirect(url_for("web.inbox"))


def unread() -> int:
    """How many notices the viewer has not read and that still ask something of them
    (the badge in the header): a page whose incident is acknowledged is done."""
    stmt = (
        select(func.count())
        .select_from(InboxItem)
        .join(Incident, Incident.id == InboxItem.incident_id)
        .where(
            InboxItem.person_id == user().person_id,
            InboxItem.read_at.is_(None),
            or_(
                InboxItem.kind.not_in(ACKNOWLEDGE_KINDS),
                Incident.acknowledged_at.is_(None),
            ),
        )
    )
    return int(db().scalar(stmt) or 0)
