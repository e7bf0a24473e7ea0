"""Receipts on the web: who was informed and whether they confirmed; the 签收 buttons.

- On the incident page (and a report's page), every leader told by an inform step or
  sent a report: when, on which channels, confirmed when and how, or gone one up.
- ``POST /incidents/<id>/receipts/confirm``: the logged-in person confirms their own
  open receipts for the incident (``escalation.receipts.confirm_all``, via ``web``).
- ``/receipts/confirm/<token>``: the link in an inform's email. Opening it shows what is
  confirmed and one button; only pressing it confirms (a mail scanner that follows the
  link confirms nothing). The token names one receipt and its person, signed with the
  deployment's secret key (``escalation.receipt_links``); no login is needed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.extensions import db, now
from app.i18n import error_message
from app.web import bp
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, visible_incident
from escalation import receipts
from escalation.models import Receipt
from escalation.receipt_links import read_confirm_token
from incidents.audit import Actor
from incidents.errors import FenghuoError
from incidents.models import Incident
from incidents.org import Person


def receipts_context(
    session: Session, incident: Incident, *, report_id: int | None = None
) -> dict[str, Any]:
    """What the receipts panel shows, and whether the viewer has receipts to confirm."""
    views = receipts.receipts_view(session, incident.id, report_id=report_id)
    person_id = getattr(current_user, "person_id", None)
    mine = [v for v in views if v.person_id == person_id and v.confirmed_at is None]
    return {"receipts": views, "my_open_receipts": len(mine)}


@bp.post("/incidents/<int:incident_id>/receipts/confirm")
@login_required
def confirm_receipts(incident_id: int) -> Response:
    visible_incident(incident_id)
    try:
        with writing() as session:
            done = receipts.confirm_all(
                session, incident_id=incident_id, actor=actor(), via="web", now=now()
            )
    except FenghuoError as exc:
        flash(_("Not done: %(reason)s", reason=error_message(exc)), "error")
    else:
        if done:
            flash(_("Receipt confirmed (签收). Thank you."), "ok")
        else:
            flash(_("There was nothing left for you to confirm."), "ok")
    return redirect(url_for("web.incident", incident_id=incident_id) + "#receipts")


def _from_token(token: str) -> tuple[Receipt, Person, Incident]:
    found = read_confirm_token(current_app.secret_key or "", token)  # type: ignore[arg-type]
    if found is None:
        abort(404)
    receipt_id, person_id = found
    session = db()
    receipt = session.get(Receipt, receipt_id)
    person = session.get(Person, person_id)
    if receipt is None or person is None or receipt.person_id != person.id:
        abort(404)
    incident = session.get(Incident, receipt.incident_id)
    if incident is None:
        abort(404)
    return receipt, person, incident


@bp.get("/receipts/confirm/<token>")
def confirm_link(token: str) -> str:
    receipt, person, incident = _from_token(token)
    return render_template(
        "receipts/confirm.html", receipt=receipt, person=person, incident=incident, token=token
    )


@bp.post("/receipts/confirm/<token>")
def confirm_link_post(token: str) -> Response | str:
    receipt, person, incident = _from_token(token)
    try:
        with writing() as session:
            receipts.confirm(
                session,
                receipt_id=receipt.id,
                actor=Actor(person.id, person.login, "web"),
                via="email",
                now=now(),
            )
    except FenghuoError as exc:
        flash(_("Not done: %(reason)s", reason=error_message(exc)), "error")
    session = db()
    fresh = session.get(Receipt, receipt.id)
    return render_template(
        "receipts/confirm.html", receipt=fresh, person=person, incident=incident, token=token
    )
