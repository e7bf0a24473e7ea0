"""Duty handoffs (交接班) on the web: who is on duty now, the handoffs, the acknowledgement.

- ``/handoffs``: who is on duty now per roster role (or the fallback position's people),
  and the newest handoffs — when, from whom to whom, what was open, and whether and by
  whom it was acknowledged.
- ``/handoffs/<id>``: one handoff (the link in the outgoing officer's message).
- ``POST /handoffs/<id>/acknowledge``: the outgoing or incoming officer acknowledges it
  (``escalation.handoffs.acknowledge_handoff``, source ``web``); anyone else is refused.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from app.extensions import db, now
from app.i18n import error_message
from app.web import bp
from app.web.rosters import role_name
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, user
from escalation.duty_now import on_duty_now
from escalation.handoffs import DutyHandoff, acknowledge_handoff, recent
from incidents import rosters
from incidents.errors import FenghuoError, NotFound


def role_names() -> dict[str, str]:
    return {role: role_name(role) for role in rosters.ROLES}


def via_names() -> dict[str, str]:
    return {"web": _("on the web"), "telegram": _("on Telegram"), "api": _("through the API")}


@bp.get("/handoffs")
@login_required
def handoffs() -> str:
    session = db()
    return render_template(
        "handoffs/list.html",
        on_duty=on_duty_now(session, now()),
        handoffs=recent(session, limit=50),
        roles=role_names(),
        vias=via_names(),
        viewer_id=user().person_id,
    )


@bp.get("/handoffs/<int:handoff_id>")
@login_required
def handoff(handoff_id: int) -> str:
    found = db().get(DutyHandoff, handoff_id)
    if found is None:
        raise NotFound("no handoff %(id)s", field="id", params={"id": handoff_id})
    return render_template(
        "handoffs/detail.html",
        handoff=found,
        roles=role_names(),
        vias=via_names(),
        viewer_id=user().person_id,
    )


@bp.post("/handoffs/<int:handoff_id>/acknowledge")
@login_required
def handoff_acknowledge(handoff_id: int) -> Response:
    try:
        with writing() as session:
            done = acknowledge_handoff(session, handoff_id=handoff_id, actor=actor(), now=now())
            by = done.handoff.acknowledged_by
            who = by.name if by is not None else ""
    except NotFound:
        raise
    except FenghuoError as exc:
        flash(_("Not done: %(reason)s", reason=error_message(exc)), "error")
    else:
        if done.changed:
            flash(_("Handoff acknowledged (交接班)."), "ok")
        else:
            flash(_("This handoff was already acknowledged by %(name)s.", name=who), "ok")
    return redirect(url_for("web.handoff", handoff_id=handoff_id))
