"""Incidents: log, list, read, edit, and the timeline.

Logging goes through ``escalation.response.open_incident`` (the same function the web
form and the bot call), so the reporting clocks start with the record. Reading is
limited by ``visible_filter``: an incident the caller may not see does not exist for
them (404, not 403, so that numbers cannot be probed).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.api import bp
from app.api.auth import actor, caps
from app.api.params import (
    check_query,
    json_body,
    query_bool,
    query_datetime,
    query_int,
    query_list,
)
from app.api.serialize import incident as incident_json
from app.api.unit import unit
from app.extensions import db, now, services
from escalation import response
from incidents import queries, service
from incidents.errors import NotFound
from incidents.inputs import IncidentInput
from incidents.models import Incident
from incidents.permissions import require, visible_filter

LIST_PARAMS = (
    "status",
    "grade",
    "category",
    "since",
    "until",
    "q",
    "department_id",
    "open",
    "limit",
    "cursor",
)
DEFAULT_LIMIT = 50


def ensure_visible(incident_id: int) -> None:
    """Raise ``NotFound`` unless the incident exists and the caller may read it (never 403).

    Only the id is selected: loading the row here would put a pre-lock copy in the
    session that a use case's ``SELECT … FOR UPDATE`` would not refresh.
    """
    found = db().scalar(
        select(Incident.id).where(Incident.id == incident_id, visible_filter(caps()))
    )
    if found is None:
        raise NotFound(f"no incident with id {incident_id}", field="id")


def visible_incident(incident_id: int) -> Incident:
    """The incident if the caller may read it; ``NotFound`` otherwise."""
    ensure_visible(incident_id)
    found = db().get(Incident, incident_id)
    assert found is not None
    return found


@bp.get("/incidents")
def list_incidents() -> ResponseReturnValue:
    check_query(LIST_PARAMS)
    flt = queries.IncidentFilter(
        status=query_list("status"),
        grade=query_list("grade"),
        category=query_list("category"),
        since=query_datetime("since"),
        until=query_datetime("until"),
        department_id=query_int("department_id"),
        text=(request.args.get("q") or "").strip(),
        open_only=bool(query_bool("open")),
    )
    limit = query_int("limit", default=DEFAULT_LIMIT, maximum=queries.MAX_LIMIT)
    assert limit is not None
    page = queries.list_incidents(db(), caps(), flt, limit=limit, cursor=query_int("cursor"))
    return jsonify(
        {
            "items": [incident_json(row) for row in page.items],
            "next_cursor": str(page.next_cursor) if page.next_cursor is not None else None,
        }
    )


@bp.post("/incidents")
def create_incident() -> ResponseReturnValue:
    check_query(())
    require(caps().can_log, "logging incidents is for the command center (3(3))")
    data = IncidentInput.parse(json_body())
    with unit() as session:
        created = response.open_incident(
            session, data=data, actor=actor(), now=now(), policy=services().policy
        )
        body = incident_json(created)
    reply = jsonify(body)
    reply.status_code = 201
    reply.headers["Location"] = body["links"]["self"]
    return reply


@bp.get("/incidents/<int:incident_id>")
def get_incident(incident_id: int) -> ResponseReturnValue:
    check_query(())
    return jsonify(incident_json(visible_incident(incident_id)))


@bp.patch("/incidents/<int:incident_id>")
def patch_incident(incident_id: int) -> ResponseReturnValue:
    check_query(())
    ensure_visible(incident_id)
    require(caps().can_handle, "editing incidents is for the command center (3(3))")
    data = IncidentInput.parse(json_body(), partial=True)
    with unit() as session:
        changed = service.patch_incident(
            session, incident_id=incident_id, data=data, actor=actor(), now=now()
        )
        body: dict[str, Any] = incident_json(changed)
    return jsonify(body)


@bp.get("/incidents/<int:incident_id>/timeline")
def incident_timeline(incident_id: int) -> ResponseReturnValue:
    from app.api.serialize import event

    check_query(())
    ensure_visible(incident_id)
    return jsonify({"items": [event(row) for row in queries.timeline(db(), incident_id)]})
