"""Duty handoffs (交接班) over the API: the newest handoffs, one handoff, the acknowledgement.

The worker writes a handoff when a duty officer's shift changes hands
(``escalation.handoff_watch``); the outgoing or the incoming officer acknowledges it once
(``escalation.handoffs.acknowledge_handoff``, compare-and-set, audited with source ``api``).
Anyone with a token reads; acknowledging is for the two officers only.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.api.auth import actor
from app.api.contract import Out, Query, endpoint
from app.api.roster_shapes import Role
from app.api.shapes import PersonRef
from app.api.unit import unit
from app.extensions import db, now
from escalation.handoffs import DutyHandoff, acknowledge_handoff, recent
from incidents.errors import NotFound
from incidents.org import Person

TAG = "rosters"


class HandoffOut(Out):
    id: int
    role: Role
    shift_starts_at: datetime = Field(description="when the incoming officer's shift began")
    shift_ends_at: datetime
    outgoing: PersonRef | None = Field(description="nobody when the roster had a gap")
    incoming: PersonRef
    open_incidents: int = Field(description="open incidents when the shift changed hands")
    running_deadlines: int = Field(description="reporting deadlines running then")
    acknowledged_at: datetime | None
    acknowledged_by: PersonRef | None
    acknowledged_via: str = Field(description="web, telegram or api; empty until acknowledged")


class HandoffList(Out):
    items: list[HandoffOut]


class AcknowledgedOut(Out):
    handoff: HandoffOut
    changed: bool = Field(description="false: it had been acknowledged already")


class HandoffsQuery(Query):
    limit: int = Field(50, ge=1, le=200, description="how many, newest first")


def _person(person: Person | None) -> PersonRef | None:
    if person is None:
        return None
    return PersonRef(id=person.id, login=person.login, name=person.name)


def handoff_out(row: DutyHandoff) -> HandoffOut:
    incoming = _person(row.incoming)
    assert incoming is not None
    return HandoffOut(
        id=row.id,
        role=row.role,
        shift_starts_at=row.shift_starts_at,
        shift_ends_at=row.shift_ends_at,
        outgoing=_person(row.outgoing),
        incoming=incoming,
        open_incidents=row.open_incidents,
        running_deadlines=row.running_deadlines,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=_person(row.acknowledged_by),
        acknowledged_via=row.acknowledged_via,
    )


@endpoint(
    "get",
    "/handoffs",
    operation_id="listHandoffs",
    summary="The newest duty handoffs (交接班), newest first",
    tag=TAG,
    response=HandoffList,
    query=HandoffsQuery,
)
def list_handoffs(query: HandoffsQuery) -> HandoffList:
    return HandoffList(items=[handoff_out(h) for h in recent(db(), limit=query.limit)])


@endpoint(
    "get",
    "/handoffs/<int:handoff_id>",
    operation_id="getHandoff",
    summary="One duty handoff",
    tag=TAG,
    response=HandoffOut,
    errors=(401, 404),
    path_descriptions={"handoff_id": "the handoff's id"},
)
def get_handoff(handoff_id: int) -> HandoffOut:
    row = db().get(DutyHandoff, handoff_id)
    if row is None:
        raise NotFound(
            "no handoff %(id)s",
            field="handoff_id",
            code="handoff.unknown",
            params={"id": handoff_id},
        )
    return handoff_out(row)


@endpoint(
    "post",
    "/handoffs/<int:handoff_id>/acknowledge",
    operation_id="acknowledgeHandoff",
    summary="The outgoing or incoming duty officer acknowledges the handoff (交接班)",
    tag=TAG,
    response=AcknowledgedOut,
    errors=(401, 403, 404),
    path_descriptions={"handoff_id": "the handoff's id"},
    description="Once: a second acknowledgement changes nothing and says who did it first "
    "(`changed: false`). Anyone but the two officers gets 403.",
)
def acknowledge_duty_handoff(handoff_id: int) -> AcknowledgedOut:
    with unit() as session:
        done = acknowledge_handoff(session, handoff_id=handoff_id, actor=actor(), now=now())
        return AcknowledgedOut(handoff=handoff_out(done.handoff), changed=done.changed)
