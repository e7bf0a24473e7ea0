"""Incidents: log, list, read, edit, and the timeline.

Logging goes through ``escalation.response.open_incident`` (the same function the web
form and the bot call), so the reporting clocks start with the record. Reading is
limited by ``visible_filter``: an incident the caller may not see does not exist for
them (404, not 403, so that numbers cannot be probed).
"""

from __future__ import annotations

from typing import Annotated

from flask.typing import ResponseReturnValue
from pydantic import Field, StringConstraints
from sqlalchemy import select

from app.api.auth import actor, caps
from app.api.contract import Body, DateTimeIn, Id, Query, endpoint
from app.api.serialize import event
from app.api.serialize import incident as incident_json
from app.api.shapes import Category, Grade, ImpactInput, Incident, IncidentPage, Status, Timeline
from app.api.unit import unit
from app.extensions import db, now, services
from escalation import response
from incidents import queries, service
from incidents.errors import NotFound
from incidents.inputs import IncidentInput
from incidents.models import Incident as IncidentRow
from incidents.permissions import require, visible_filter

DEFAULT_LIMIT = 50
ID_TEXT = {"incident_id": "the incident's id (not its number)"}
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(max_length=20000)]
Short = Annotated[str, StringConstraints(max_length=300)]
Reason = Annotated[str, StringConstraints(max_length=2000)]


class IncidentPatch(Body):
    """The descriptive fields; the grade and the status have their own endpoints."""

    title: Title | None = None
    description: Text | None = None
    category: Category | None = None
    occurred_at: DateTimeIn | None = None
    location: Short | None = None
    system_ids: list[Id] | None = None
    responsible_department_id: Id | None = Field(
        None, description="defaults to the owner department of the first system (谁主管谁负责)"
    )
    handling_lead_id: Id | None = None
    caused_by_id: Id | None = None
    impact: ImpactInput | None = None


class IncidentCreate(IncidentPatch):
    title: Title
    category: Category
    detected_at: DateTimeIn = Field(
        description="发现或获知, with a zone; the reporting clock starts here"
    )
    grade: Grade | None = Field(None, description="omit to take the suggested grade")
    grade_reason: Reason | None = None


class IncidentQuery(Query):
    status: list[Status] = Field(
        default_factory=list, description="one or more statuses (repeat or comma-separate)"
    )
    grade: list[Grade] = Field(default_factory=list, description="one or more grades")
    category: list[Category] = Field(default_factory=list, description="one or more categories")
    since: DateTimeIn | None = Field(None, description="detected at or after this moment")
    until: DateTimeIn | None = Field(None, description="detected before this moment")
    q: str = Field("", description="text in the title or the number")
    department_id: Id | None = Field(None, description="responsible department")
    open: bool | None = Field(None, description="only incidents not yet resolved or closed")
    limit: Annotated[int, Field(ge=1, le=queries.MAX_LIMIT)] = Field(
        DEFAULT_LIMIT, description="page size"
    )
    cursor: Id | None = Field(None, description="next_cursor of the previous page")


def _may_log() -> None:
    require(caps().can_log, "logging incidents is for the command center (3(3))")


def _may_edit(incident_id: int) -> None:
    ensure_visible(incident_id)
    require(caps().can_handle, "editing incidents is for the command center (3(3))")


def _input(body: IncidentPatch, *, partial: bool) -> IncidentInput:
    """The domain's input from the validated body: the fields given, and the rules no
    schema states (an occurrence after the detection)."""
    return IncidentInput.parse(body.model_dump(mode="json", exclude_unset=True), partial=partial)


def ensure_visible(incident_id: int) -> None:
    """Raise ``NotFound`` unless the incident exists and the caller may read it (never 403).

    Only the id is selected: loading the row here would put a pre-lock copy in the
    session that a use case's ``SELECT … FOR UPDATE`` would not refresh.
    """
    found = db().scalar(
        select(IncidentRow.id).where(IncidentRow.id == incident_id, visible_filter(caps()))
    )
    if found is None:
        raise NotFound("no incident with id %(id)s", field="id", params={"id": incident_id})


def visible_incident(incident_id: int) -> IncidentRow:
    """The incident if the caller may read it; ``NotFound`` otherwise."""
    ensure_visible(incident_id)
    found = db().get(IncidentRow, incident_id)
    assert found is not None
    return found


@endpoint(
    "get",
    "/incidents",
    operation_id="listIncidents",
    summary="List incidents the caller may see, newest first",
    tag="incidents",
    response=IncidentPage,
    query=IncidentQuery,
    description="Keyset pagination: follow `next_cursor` until it is null.",
)
def list_incidents(query: IncidentQuery) -> ResponseReturnValue:
    flt = queries.IncidentFilter(
        status=tuple(query.status),
        grade=tuple(query.grade),
        category=tuple(query.category),
        since=query.since,
        until=query.until,
        department_id=query.department_id,
        text=query.q.strip(),
        open_only=bool(query.open),
    )
    page = queries.list_incidents(db(), caps(), flt, limit=query.limit, cursor=query.cursor)
    return {
        "items": [incident_json(row) for row in page.items],
        "next_cursor": str(page.next_cursor) if page.next_cursor is not None else None,
    }


@endpoint(
    "post",
    "/incidents",
    operation_id="createIncident",
    summary="Log an incident (starts its clocks)",
    tag="incidents",
    response=Incident,
    status=201,
    location=True,
    body=IncidentCreate,
    errors=(401, 403),
    guard=_may_log,
    description="Needs a command-center position (3(3)). Without `grade` the suggested grade "
    "is taken. The number (FH-YYYY-NNNN) is given on creation.",
)
def create_incident(body: IncidentCreate) -> ResponseReturnValue:
    data = _input(body, partial=False)
    with unit() as session:
        created = response.open_incident(
            session, data=data, actor=actor(), now=now(), policy=services().policy
        )
    # Rendered after the commit, from the objects the create holds (the session keeps
    # them loaded): the write lock is not held for it, and it reads nothing back.
    reply = incident_json(created)
    return reply, {"Location": reply["links"]["self"]}


@endpoint(
    "get",
    "/incidents/<int:incident_id>",
    operation_id="getIncident",
    summary="Read an incident",
    tag="incidents",
    response=Incident,
    errors=(401, 404),
    path_descriptions=ID_TEXT,
)
def get_incident(incident_id: int) -> ResponseReturnValue:
    return incident_json(visible_incident(incident_id))


@endpoint(
    "patch",
    "/incidents/<int:incident_id>",
    operation_id="patchIncident",
    summary="Edit descriptive fields",
    tag="incidents",
    response=Incident,
    body=IncidentPatch,
    errors=(401, 403, 404, 409),
    description="The grade and the status have their own endpoints.",
    path_descriptions=ID_TEXT,
    guard=_may_edit,
)
def patch_incident(incident_id: int, body: IncidentPatch) -> ResponseReturnValue:
    data = _input(body, partial=True)
    with unit() as session:
        changed = service.patch_incident(
            session, incident_id=incident_id, data=data, actor=actor(), now=now()
        )
        return incident_json(changed)


@endpoint(
    "get",
    "/incidents/<int:incident_id>/timeline",
    operation_id="getTimeline",
    summary="The incident's audit events, oldest first",
    tag="incidents",
    response=Timeline,
    errors=(401, 404),
    path_descriptions=ID_TEXT,
)
def incident_timeline(incident_id: int) -> ResponseReturnValue:
    ensure_visible(incident_id)
    return {"items": [event(row) for row in queries.timeline(db(), incident_id)]}
