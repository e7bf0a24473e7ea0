"""The in-app inbox: the notices the escalation layer delivered to the viewer.

Every page, alert and notice reaches its recipients here as well as on their other
channels (escalation's ``inbox`` channel), so nothing depends on Telegram being up.

An item that asked something of its reader is *done* once that is answered, and shows
it — struck through, with who answered and when — instead of disappearing (the record of
having been paged stays), and leaves the header's badge:

- a page asks for an acknowledgement: done once the incident is acknowledged, by whoever;
- an inform (a leader told of the incident or of a filed report) asks for the reader's
  own receipt (签收): done once they confirmed it — someone else's acknowledgement does
  not end it.

Other notices (deadline warnings, outcomes) ask nothing and stay as they are.
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
from escalation.models import InboxItem, Notification, Receipt
from escalation.queries import inbox as inbox_items
from escalation.queries import mark_read
from incidents.models import Incident
from incidents.org import Person

# The notices that page someone to acknowledge: an escalation step, and the same page
# passed one up because its first recipient could not be reached.
ACKNOWLEDGE_KINDS = ("step", "fallback")


@dataclass(frozen=True)
class Done:
    """How an item's ask was met: ``acknowledged`` (by ``by``) or ``confirmed``."""

    how: str
    at: datetime
    by: str | None = None


def _acknowledged(incident_ids: set[int]) -> dict[int, Done]:
    if not incident_ids:
        return {}
    rows = db().execute(
        select(Incident.id, Incident.acknowledged_at, Person.name)
        .outerjoin(Person, Person.id == Incident.acknowledged_by_id)
        .where(Incident.id.in_(incident_ids), Incident.acknowledged_at.is_not(None))
    )
    return {
        incident_id: Done("acknowledged", at, name)
        for incident_id, at, name in rows
        if at is not None
    }


def _confirmed(item_ids: set[int]) -> dict[int, Done]:
    """The items whose notice carried a receipt the reader has since confirmed."""
    if not item_ids:
        return {}
    rows = db().execute(
        select(InboxItem.id, Receipt.confirmed_at)
        .join(Notification, Notification.id == InboxItem.notification_id)
        .join(Receipt, Receipt.id == Notification.receipt_id)
        .where(InboxItem.id.in_(item_ids), Receipt.confirmed_at.is_not(None))
    )
    return {item_id: Done("confirmed", at) for item_id, at in rows if at is not None}


def with_done(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items, each with ``done`` (a :class:`Done`, or None while it still asks)."""
    acknowledged = _acknowledged(
        {int(i["incident_id"]) for i in items if i["kind"] in ACKNOWLEDGE_KINDS}
    )
    confirmed = _confirmed({int(i["id"]) for i in items})
    out = []
    for item in items:
        done = confirmed.get(int(item["id"]))
        if item["kind"] in ACKNOWLEDGE_KINDS:
            done = acknowledged.get(int(item["incident_id"]))
        out.append({**item, "done": done})
    return out


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
    """How many notices the viewer has not read, less those done (the badge in the
    header)."""
    stmt = (
        select(func.count())
        .select_from(InboxItem)
        .join(Incident, Incident.id == InboxItem.incident_id)
        .outerjoin(Notification, Notification.id == InboxItem.notification_id)
        .outerjoin(Receipt, Receipt.id == Notification.receipt_id)
        .where(
            InboxItem.person_id == user().person_id,
            InboxItem.read_at.is_(None),
            or_(
                InboxItem.kind.not_in(ACKNOWLEDGE_KINDS),
                Incident.acknowledged_at.is_(None),
            ),
            Receipt.confirmed_at.is_(None),  # no receipt, or not yet confirmed
        )
    )
    return int(db().scalar(stmt) or 0)
