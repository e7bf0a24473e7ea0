"""The clocks of one incident, read-only: the reports owed and the escalation so far.

Both come from ``escalation.queries`` as plain dicts, the same ones the incident page
shows, so the API and the web never disagree about a deadline; their models are in
``app.api.clock_shapes``.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.api.clock_shapes import EscalationState, Obligations
from app.api.contract import endpoint
from app.api.incidents import ID_TEXT, ensure_visible
from app.extensions import db, now
from escalation import queries


@endpoint(
    "get",
    "/incidents/<int:incident_id>/obligations",
    operation_id="listObligations",
    summary="Reports owed: deadlines, status, time left",
    tag="reports",
    response=Obligations,
    errors=(401, 404),
    path_descriptions=ID_TEXT,
)
def list_obligations(incident_id: int) -> ResponseReturnValue:
    """Each report owed with its deadline and time left, and the two facts they decide:
    "reported as required" (5.1(a), 5.2(a), 5.3(a)) and "handled promptly" (5.2(c))."""
    ensure_visible(incident_id)
    session, at = db(), now()
    return {
        "items": queries.obligations_of(session, incident_id, at),
        "reporting": queries.reporting_outcome(session, incident_id, at),
        "handling": queries.handling_outcome(session, incident_id, at),
    }


@endpoint(
    "get",
    "/incidents/<int:incident_id>/escalation",
    operation_id="getEscalation",
    summary="The escalation: chain, pages, delivery, acknowledgement",
    tag="escalation",
    response=EscalationState,
    errors=(401, 404),
    path_descriptions=ID_TEXT,
)
def get_escalation(incident_id: int) -> ResponseReturnValue:
    """The frozen chain, every page and alert with its recipients and delivery, and who
    acknowledged."""
    ensure_visible(incident_id)
    return queries.escalation_state(db(), incident_id)
