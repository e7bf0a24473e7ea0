"""The buttons on an incident page: which ones the viewer sees, and what each one posts.

The use cases in ``escalation.response`` check every right themselves (``escalation.guard``)
and refuse illegal transitions; this module only decides which actions to offer, using
the same predicates, so a person is not shown a button that would be refused. A refusal
that happens anyway (a colleague was quicker, a report is still owed) comes back as a
message on the incident page, not as an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask import flash, redirect, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from accountability import close as accountability_close
from app.extensions import now, services
from app.i18n import error_message
from app.web import bp
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, visible_incident
from escalation import response
from escalation.guard import LEADERSHIP
from incidents import lifecycle
from incidents.errors import FenghuoError, ValidationError
from incidents.grading import GRADES
from incidents.models import Incident
from incidents.org import Person
from incidents.permissions import Capabilities, can_acknowledge

if TYPE_CHECKING:
    from app.web.clocks import IncidentClocks


@dataclass(frozen=True)
class Actions:
    """What the viewer may do to the incident now."""

    acknowledge: bool = False
    start_handling: bool = False
    regrade: bool = False
    file_report: bool = False
    resolve: bool = False
    close: bool = False
    close_blocked: bool = False
    reopen: bool = False
    escalate_now: bool = False

    @property
    def any(self) -> bool:
        return any(
            (
                self.acknowledge,
                self.start_handling,
                self.regrade,
                self.file_report,
                self.resolve,
                self.close,
                self.reopen,
                self.escalate_now,
            )
        )


def available_actions(
    session: Session,
    viewer: Capabilities,
    incident: Incident,
    clocks: IncidentClocks,
    at: datetime,
) -> Actions:
    status = incident.status
    handler = viewer.can_handle
    in_chain = can_acknowledge(session, viewer, incident, at)
    return Actions(
        acknowledge=in_chain and incident.is_open and clocks.awaiting_acknowledgement,
        start_handling=handler and lifecycle.allowed(status, "handling"),
        regrade=(handler or viewer.has(*LEADERSHIP)) and status != "closed",
        file_report=handler and status != "closed",
        resolve=handler and lifecycle.allowed(status, "resolved"),
        close=handler and lifecycle.allowed(status, "closed"),
        close_blocked=bool(clocks.owed),
        reopen=(handler or viewer.has(*LEADERSHIP)) and lifecycle.allowed(status, "reopened"),
        escalate_now=in_chain and incident.is_open and clocks.next_step is not None,
    )


def _back(incident_id: int, anchor: str = "") -> Response:
    target = url_for("web.incident", incident_id=incident_id)
    return redirect(f"{target}#{anchor}" if anchor else target)


def _run(incident_id: int, work: Callable[[Session], str], anchor: str = "") -> Response:
    """Run one use case in its own transaction; flash its outcome or its refusal."""
    visible_incident(incident_id)
    try:
        with writing() as session:
            message = work(session)
    except FenghuoError as exc:
        flash(_("Not done: %(reason)s", reason=error_message(exc)), "error")
        return _back(incident_id, anchor)
    flash(message, "ok")
    return _back(incident_id, anchor)


def _reason() -> str:
    return (request.form.get("reason") or "").strip()


@bp.post("/incidents/<int:incident_id>/acknowledge")
@login_required
def acknowledge(incident_id: int) -> Response:
    def work(session: Session) -> str:
        result = response.acknowledge(session, incident_id=incident_id, actor=actor(), now=now())
        if not result.changed:
            return _("It was already acknowledged.")
        return _(
            "Acknowledged. The escalation chain has stopped; the reporting deadlines keep running."
        )

    return _run(incident_id, work)


@bp.post("/incidents/<int:incident_id>/start")
@login_required
def start_handling(incident_id: int) -> Response:
    def work(session: Session) -> str:
        response.start_handling(session, incident_id=incident_id, actor=actor(), now=now())
        return _("Handling started.")

    return _run(incident_id, work)


@bp.post("/incidents/<int:incident_id>/regrade")
@login_required
def regrade(incident_id: int) -> Response:
    grade = request.form.get("grade", "")

    def work(session: Session) -> str:
        if grade not in GRADES:
            raise ValidationError(_("Choose a grade."), field="grade")
        response.regrade(
            session,
            incident_id=incident_id,
            grade=grade,
            reason=_reason(),
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        return _("Grade changed; the deadlines and the escalation chain follow the new grade.")

    return _run(incident_id, work, "actions")


@bp.post("/incidents/<int:incident_id>/resolve")
@login_required
def resolve(incident_id: int) -> Response:
    def work(session: Session) -> str:
        response.resolve(
            session,
            incident_id=incident_id,
            actor=actor(),
            now=now(),
            policy=services().policy,
            summary=_reason(),
        )
        return _("Resolved. The final summary report is now due.")

    return _run(incident_id, work)


@bp.post("/incidents/<int:incident_id>/close")
@login_required
def close(incident_id: int) -> Response:
    def work(session: Session) -> str:
        accountability_close.close_incident(
            session, incident_id=incident_id, actor=actor(), now=now(), reason=_reason()
        )
        return _("Closed.")

    return _run(incident_id, work)


@bp.post("/incidents/<int:incident_id>/reopen")
@login_required
def reopen(incident_id: int) -> Response:
    def work(session: Session) -> str:
        response.reopen(
            session,
            incident_id=incident_id,
            reason=_reason(),
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        return _("Reopened.")

    return _run(incident_id, work, "actions")


@bp.post("/incidents/<int:incident_id>/escalate")
@login_required
def escalate_now(incident_id: int) -> Response:
    def work(session: Session) -> str:
        result = response.escalate_now(session, incident_id=incident_id, actor=actor(), now=now())
        ids = [r["person_id"] for r in result.recipients if isinstance(r.get("person_id"), int)]
        rows = session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all()
        people = {pid: name for pid, name in rows}
        names = ", ".join(
            people.get(r.get("person_id") or 0, str(r.get("login") or ""))
            for r in result.recipients
        )
        return _("Escalated to step %(step)d: %(names)s.", step=result.step + 1, names=names or "—")

    return _run(incident_id, work)
