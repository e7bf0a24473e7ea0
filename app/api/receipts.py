"""Receipts over the API: who was informed of an incident, and a leader's own 签收.

``GET /incidents/{id}/receipts`` lists every receipt (inform steps, delivered reports,
those gone one up) with how each notice was delivered; ``POST …/receipts/confirm``
confirms the caller's own open receipts for the incident (``escalation.receipts``):
nobody can confirm for someone else.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import actor
from app.api.incidents import ensure_visible
from app.api.openapi_parts import INCIDENT_ID, ITEM_ERRORS, WRITE_ERRORS, operation
from app.api.params import body_object, check_query, json_body
from app.api.schemas import DATETIME, ID, INT, STR, Schema, array, enum, nullable, obj, ref
from app.api.unit import unit
from app.extensions import db, now
from escalation import receipts


@bp.get("/incidents/<int:incident_id>/receipts")
def list_receipts(incident_id: int) -> ResponseReturnValue:
    check_query(())
    ensure_visible(incident_id)
    items = [v.to_dict() for v in receipts.receipts_view(db(), incident_id)]
    return jsonify({"items": items})


@bp.post("/incidents/<int:incident_id>/receipts/confirm")
def confirm_receipts(incident_id: int) -> ResponseReturnValue:
    check_query(())
    ensure_visible(incident_id)
    body_object(json_body(optional=True), ())
    with unit() as session:
        done = receipts.confirm_all(
            session, incident_id=incident_id, actor=actor(), via="api", now=now()
        )
        items = [v.to_dict() for v in receipts.receipts_view(session, incident_id)]
    return jsonify({"confirmed": done, "items": items})


# --- the OpenAPI part ---------------------------------------------------------------------


def receipts_paths() -> dict[str, Any]:
    base = "/incidents/{incident_id}/receipts"
    return {
        base: {
            "parameters": [INCIDENT_ID],
            "get": operation(
                "listReceipts",
                "Leaders informed and their receipts (签收)",
                tag="escalation",
                ok=(200, "ReceiptList"),
                errors=ITEM_ERRORS,  # an unknown incident is a 404
                description="One row per leader told by an inform step, sent a report, or "
                "told because the one before did not confirm in time.",
            ),
        },
        base + "/confirm": {
            "parameters": [INCIDENT_ID],
            "post": operation(
                "confirmReceipts",
                "Confirm your own receipts for the incident (签收)",
                tag="escalation",
                ok=(200, "ReceiptsConfirmed"),
                errors=WRITE_ERRORS,
                body="Empty",
                body_optional=True,
                description="Only the person informed confirms; a second call changes "
                "nothing (confirmed: 0).",
            ),
        },
    }


def receipts_schemas() -> dict[str, Schema]:
    delivery = obj(
        {
            "channel": STR,
            "status": enum(("pending", "sending", "sent", "failed")),
            "sent_at": nullable(DATETIME),
        },
        required=("channel", "status", "sent_at"),
    )
    receipt = obj(
        {
            "id": ID,
            "person_id": ID,
            "login": STR,
            "name": STR,
            "source": enum(
                receipts.SOURCES,
                "step: an inform step; report: a delivered "
                "report; escalated: the one before did not confirm in time",
            ),
            "target": STR,
            "step": nullable(INT),
            "report_id": nullable(ID),
            "escalated_from_id": nullable(ID),
            "informed_at": DATETIME,
            "confirm_by": DATETIME,
            "confirmed_at": nullable(DATETIME),
            "confirmed_via": nullable(enum(receipts.CONFIRM_CHANNELS)),
            "escalated_at": nullable(DATETIME),
            "deliveries": array(delivery),
        },
        required=(
            "id",
            "person_id",
            "login",
            "name",
            "source",
            "target",
            "step",
            "report_id",
            "escalated_from_id",
            "informed_at",
            "confirm_by",
            "confirmed_at",
            "confirmed_via",
            "escalated_at",
            "deliveries",
        ),
    )
    return {
        "Receipt": receipt,
        "ReceiptList": obj({"items": array(ref("Receipt"))}, required=("items",)),
        "ReceiptsConfirmed": obj(
            {"confirmed": {"type": "integer", "minimum": 0}, "items": array(ref("Receipt"))},
            required=("confirmed", "items"),
        ),
    }
