"""Lifecycle actions on one incident: each endpoint calls one ``escalation.response`` use case.

The use cases do their own permission checks (who may acknowledge, who handles) and
their own compare-and-set, so a double tap is harmless and a lost race is a 409. The
face checks only that the caller may see the incident (404 otherwise, before the body is
read), validates the body against its model, and renders the incident as it is after the
action.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask.typing import ResponseReturnValue
from pydantic import Field, StringConstraints

from accountability import close as accountability_close
from app.api.auth import actor
from app.api.contract import Body, Out, endpoint
from app.api.incidents import ID_TEXT, ensure_visible
from app.api.serialize import incident as incident_json
from app.api.serialize import recipient
from app.api.shapes import Grade, Incident, Status
from app.api.unit import unit
from app.extensions import now, services
from escalation import response

ACTION_ERRORS = (401, 403, 404, 409)
Stripped = StringConstraints(strip_whitespace=True)
Reason = Annotated[str, Stripped, StringConstraints(max_length=2000)]
Needed = Annotated[str, Stripped, StringConstraints(min_length=1, max_length=2000)]


class Empty(Body):
    """No fields; the body may be omitted."""


class TransitionRequest(Body):
    to: Status
    reason: Reason | None = None


class GradeRequest(Body):
    grade: Grade
    reason: Needed


class ResolveRequest(Body):
    summary: Annotated[str, Stripped, StringConstraints(max_length=20000)] | None = None


class CloseRequest(Body):
    reason: Reason | None = None


class ReopenRequest(Body):
    reason: Needed


class AckResult(Out):
    changed: bool = Field(description="false when it was acknowledged already")
    incident: Incident


class Recipient(Out):
    """``person_id`` null: the target resolved to nobody when it fired."""

    target: str | None = Field(description="the role or person:LOGIN of the step")
    person_id: int | None
    login: str | None


class EscalateResult(Out):
    step: int = Field(ge=0, description="index of the chain step fired")
    recipients: list[Recipient]
    incident: Incident


def _action(name: str, operation_id: str, summary: str, body: type[Body], **kw: Any) -> Any:
    """An action on one incident: POST …/{name}, the incident's visibility checked first."""
    return endpoint(
        "post",
        f"/incidents/<int:incident_id>/{name}",
        operation_id=operation_id,
        summary=summary,
        tag="lifecycle",
        response=kw.pop("response", Incident),
        body=body,
        body_optional=kw.pop("body_optional", True),
        errors=ACTION_ERRORS,
        guard=ensure_visible,
        path_descriptions=ID_TEXT,
        **kw,
    )


@_action(
    "transitions",
    "transitionIncident",
    "Move the incident to another status",
    TransitionRequest,
    body_optional=False,
    description="new → acknowledged → handling → resolved → closed; resolved or closed → "
    "reopened (reason required) → handling. Compare-and-set: a concurrent change gives 409.",
)
def transition(incident_id: int, body: TransitionRequest) -> ResponseReturnValue:
    with unit() as session:
        moved = accountability_close.transition(
            session,
            incident_id=incident_id,
            to=body.to,
            reason=body.reason or "",
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        return incident_json(moved)


@_action(
    "grade",
    "regradeIncident",
    "Change the grade, with a reason",
    GradeRequest,
    body_optional=False,
    description="An upgrade tightens the deadlines from the original detection time and "
    "restarts the escalation chain; a downgrade keeps breaches.",
)
def regrade(incident_id: int, body: GradeRequest) -> ResponseReturnValue:
    with unit() as session:
        result = response.regrade(
            session,
            incident_id=incident_id,
            grade=body.grade,
            reason=body.reason,
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        return incident_json(result.incident)


@_action(
    "acknowledge",
    "acknowledgeIncident",
    "Acknowledge: stops the acknowledgement chain",
    Empty,
    response=AckResult,
    description="Anyone in the incident's responsibility chain may acknowledge. The "
    "reporting deadlines keep running; only a filed report meets them.",
)
def acknowledge(incident_id: int, body: Empty) -> ResponseReturnValue:
    """Acknowledge; a second acknowledgement changes nothing and says so (``changed``)."""
    with unit() as session:
        result = response.acknowledge(session, incident_id=incident_id, actor=actor(), now=now())
        return {"changed": result.changed, "incident": incident_json(result.incident)}


@_action("start-handling", "startHandling", "Start handling (acknowledges too, if not yet)", Empty)
def start_handling(incident_id: int, body: Empty) -> ResponseReturnValue:
    with unit() as session:
        started = response.start_handling(
            session, incident_id=incident_id, actor=actor(), now=now()
        )
        return incident_json(started)


@_action(
    "resolve",
    "resolveIncident",
    "Resolve: handling has ended; the final-report clock starts",
    ResolveRequest,
)
def resolve(incident_id: int, body: ResolveRequest) -> ResponseReturnValue:
    with unit() as session:
        resolved = response.resolve(
            session,
            incident_id=incident_id,
            actor=actor(),
            now=now(),
            policy=services().policy,
            summary=body.summary or "",
        )
        return incident_json(resolved)


@_action("close", "closeIncident", "Close (refused while obligations are pending)", CloseRequest)
def close(incident_id: int, body: CloseRequest) -> ResponseReturnValue:
    with unit() as session:
        closed = accountability_close.close_incident(
            session,
            incident_id=incident_id,
            actor=actor(),
            now=now(),
            reason=body.reason or "",
        )
        return incident_json(closed)


@_action(
    "reopen",
    "reopenIncident",
    "Reopen a resolved or closed incident, with a reason",
    ReopenRequest,
)
def reopen(incident_id: int, body: ReopenRequest) -> ResponseReturnValue:
    with unit() as session:
        reopened = response.reopen(
            session,
            incident_id=incident_id,
            reason=body.reason,
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        return incident_json(reopened)


@_action(
    "escalate",
    "escalateNow",
    "Escalate now: fire the next step of the chain",
    Empty,
    response=EscalateResult,
)
def escalate(incident_id: int, body: Empty) -> ResponseReturnValue:
    """Fire the next step of the chain now; answers with the step and who it reached."""
    with unit() as session:
        result = response.escalate_now(session, incident_id=incident_id, actor=actor(), now=now())
        return {
            "step": result.step,
            "recipients": [recipient(r) for r in result.recipients],
            "incident": incident_json(result.incident),
        }
