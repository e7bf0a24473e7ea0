"""Lifecycle actions on one incident: each endpoint calls one ``escalation.response`` use case.

The use cases do their own permission checks (who may acknowledge, who handles) and
their own compare-and-set, so a double tap is harmless and a lost race is a 409. The
face checks only that the caller may see the incident (404 otherwise), parses the body,
and renders the incident as it is after the action.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from accountability import close as accountability_close
from app.api import bp
from app.api.auth import actor
from app.api.incidents import ensure_visible
from app.api.params import body_object, check_query, json_body, optional_text, required_text
from app.api.serialize import incident as incident_json
from app.api.serialize import recipient
from app.api.unit import unit
from app.extensions import now, services
from escalation import response
from incidents.inputs import parse_grade_change, parse_transition


def _start(incident_id: int, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Common preamble: no query, visible incident, a body with only ``allowed`` fields."""
    check_query(())
    ensure_visible(incident_id)
    return body_object(json_body(optional=True), allowed)


@bp.post("/incidents/<int:incident_id>/transitions")
def transition(incident_id: int) -> ResponseReturnValue:
    check_query(())
    ensure_visible(incident_id)
    to, reason = parse_transition(json_body())
    with unit() as session:
        moved = accountability_close.transition(
            session,
            incident_id=incident_id,
            to=to,
            reason=reason or "",
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        body = incident_json(moved)
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/grade")
def regrade(incident_id: int) -> ResponseReturnValue:
    check_query(())
    ensure_visible(incident_id)
    grade, reason = parse_grade_change(json_body())
    with unit() as session:
        result = response.regrade(
            session,
            incident_id=incident_id,
            grade=grade,
            reason=reason,
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        body = incident_json(result.incident)
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/acknowledge")
def acknowledge(incident_id: int) -> ResponseReturnValue:
    """Acknowledge; a second acknowledgement changes nothing and says so (``changed``)."""
    _start(incident_id, ())
    with unit() as session:
        result = response.acknowledge(session, incident_id=incident_id, actor=actor(), now=now())
        body = {"changed": result.changed, "incident": incident_json(result.incident)}
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/start-handling")
def start_handling(incident_id: int) -> ResponseReturnValue:
    _start(incident_id, ())
    with unit() as session:
        started = response.start_handling(
            session, incident_id=incident_id, actor=actor(), now=now()
        )
        body = incident_json(started)
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/resolve")
def resolve(incident_id: int) -> ResponseReturnValue:
    data = _start(incident_id, ("summary",))
    with unit() as session:
        resolved = response.resolve(
            session,
            incident_id=incident_id,
            actor=actor(),
            now=now(),
            policy=services().policy,
            summary=optional_text(data, "summary", max_len=20000),
        )
        body = incident_json(resolved)
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/close")
def close(incident_id: int) -> ResponseReturnValue:
    data = _start(incident_id, ("reason",))
    with unit() as session:
        closed = accountability_close.close_incident(
            session,
            incident_id=incident_id,
            actor=actor(),
            now=now(),
            reason=optional_text(data, "reason"),
        )
        body = incident_json(closed)
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/reopen")
def reopen(incident_id: int) -> ResponseReturnValue:
    data = _start(incident_id, ("reason",))
    reason = required_text(data, "reason")
    with unit() as session:
        reopened = response.reopen(
            session,
            incident_id=incident_id,
            reason=reason,
            actor=actor(),
            now=now(),
            policy=services().policy,
        )
        body = incident_json(reopened)
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/escalate")
def escalate(incident_id: int) -> ResponseReturnValue:
    """Fire the next step of the chain now; answers with the step and who it reached."""
    _start(incident_id, ())
    with unit() as session:
        result = response.escalate_now(session, incident_id=incident_id, actor=actor(), now=now())
        body = {
            "step": result.step,
            "recipients": [recipient(r) for r in result.recipients],
            "incident": incident_json(result.incident),
        }
    return jsonify(body)
