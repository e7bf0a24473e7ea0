"""Receipts over the API: who was informed of an incident, and a leader's own 签收.

``GET /incidents/{id}/receipts`` lists every receipt (inform steps, delivered reports,
those gone one up) with how each notice was delivered; ``POST …/receipts/confirm``
confirms the caller's own open receipts for the incident (``escalation.receipts``):
nobody can confirm for someone else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from flask.typing import ResponseReturnValue
from pydantic import Field

from app.api.actions import Empty
from app.api.auth import actor
from app.api.clock_shapes import DeliveryStatus
from app.api.contract import Id, Out, endpoint, enum_of, one_of
from app.api.incidents import ID_TEXT, ensure_visible
from app.api.shapes import Count
from app.api.unit import unit
from app.extensions import db, now
from escalation import receipts

_SOURCE_TEXT = (
    "step: an inform step; report: a delivered report; escalated: the one before did not "
    "confirm in time"
)


class Delivery(Out):
    channel: str
    status: DeliveryStatus
    sent_at: datetime | None


class Receipt(Out):
    id: Id
    person_id: Id
    login: str
    name: str
    source: Annotated[str, one_of(receipts.SOURCES), enum_of(receipts.SOURCES, _SOURCE_TEXT)]
    target: str
    step: int | None
    report_id: Id | None
    escalated_from_id: Id | None
    informed_at: datetime
    confirm_by: datetime
    confirmed_at: datetime | None
    confirmed_via: (
        Annotated[str, one_of(receipts.CONFIRM_CHANNELS), enum_of(receipts.CONFIRM_CHANNELS)] | None
    )
    escalated_at: datetime | None
    deliveries: list[Delivery]


class ReceiptList(Out):
    items: list[Receipt]


class ReceiptsConfirmed(Out):
    confirmed: Count = Field(description="how many of the caller's receipts this confirmed")
    items: list[Receipt]


@endpoint(
    "get",
    "/incidents/<int:incident_id>/receipts",
    operation_id="listReceipts",
    summary="Leaders informed and their receipts (签收)",
    tag="escalation",
    response=ReceiptList,
    errors=(401, 404),
    path_descriptions=ID_TEXT,
    description="One row per leader told by an inform step, sent a report, or told because "
    "the one before did not confirm in time.",
)
def list_receipts(incident_id: int) -> ResponseReturnValue:
    ensure_visible(incident_id)
    return {"items": [v.to_dict() for v in receipts.receipts_view(db(), incident_id)]}


@endpoint(
    "post",
    "/incidents/<int:incident_id>/receipts/confirm",
    operation_id="confirmReceipts",
    summary="Confirm your own receipts for the incident (签收)",
    tag="escalation",
    response=ReceiptsConfirmed,
    body=Empty,
    body_optional=True,
    errors=(401, 403, 404, 409),
    guard=ensure_visible,
    path_descriptions=ID_TEXT,
    description="Only the person informed confirms; a second call changes nothing (confirmed: 0).",
)
def confirm_receipts(incident_id: int, body: Empty) -> ResponseReturnValue:
    with unit() as session:
        done = receipts.confirm_all(
            session, incident_id=incident_id, actor=actor(), via="api", now=now()
        )
        items = [v.to_dict() for v in receipts.receipts_view(session, incident_id)]
    return {"confirmed": done, "items": items}
