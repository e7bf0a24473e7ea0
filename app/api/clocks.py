"""The clocks of one incident, read-only: the reports owed and the escalation so far.

Both come from ``escalation.queries`` as plain dicts, the same ones the incident page
shows, so the API and the web never disagree about a deadline.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.incidents import ensure_visible
from app.api.params import check_query
from app.extensions import db, now
from escalation import queries


@bp.get("/incidents/<int:incident_id>/obligations")
def list_obligations(incident_id: int) -> ResponseReturnValue:
    """Each report owed with its deadline and time left, and the two facts they decide:
    "reported as required" (5.1(a), 5.2(a), 5.3(a)) and "handled promptly" (5.2(c))."""
    check_query(())
    ensure_visible(incident_id)
    session, at = db(), now()
    return jsonify(
        {
            "items": queries.obligations_of(session, incident_id, at),
            "reporting": queries.reporting_outcome(session, incident_id, at),
            "handling": queries.handling_outcome(session, incident_id, at),
        }
    )


@bp.get("/incidents/<int:incident_id>/escalation")
def get_escalation(incident_id: int) -> ResponseReturnValue:
    """The frozen chain, every page and alert with its recipients and delivery, and who
    acknowledged."""
    check_query(())
    ensure_visible(incident_id)
    return jsonify(queries.escalation_state(db(), incident_id))
