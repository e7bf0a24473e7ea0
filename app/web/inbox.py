"""The in-app inbox: the notices the escalation layer delivered to the viewer.

Every page, alert and notice reaches its recipients here as well as on their other
channels (escalation's ``inbox`` channel), so nothing depends on Telegram being up.
"""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from app.extensions import db, now
from app.web import bp
from app.web.session_scope import writing
from app.web.viewer import user
from escalation.queries import inbox as inbox_items
from escalation.queries import mark_read, unread_count


@bp.get("/inbox")
@login_required
def inbox() -> str:
    items = inbox_items(db(), user().person_id, limit=100)
    return render_template("inbox.html", items=items)


@bp.post("/inbox/read")
@login_required
def inbox_read() -> Response:
    with writing() as session:
        mark_read(session, person_id=user().person_id, now=now())
    return redirect(url_for("web.inbox"))


def unread() -> int:
    """How many notices the viewer has not read (the badge in the header)."""
    return unread_count(db(), user().person_id)
