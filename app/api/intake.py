"""Monitoring intake: Alertmanager's webhook (version 4) and a generic JSON webhook.

The bodies are pydantic v2 models that refuse unknown fields; the first error is
returned as a 422 naming the field (its dotted path), and nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from app.api import bp
from app.api.auth import caps
from app.api.contract import parse
from app.api.params import json_body
from app.api.unit import unit
from app.extensions import now, services
from escalation.intake import Alert, Notification, ingest
from incidents.permissions import require

M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AmAlert(_Strict):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str


class AlertmanagerPayload(_Strict):
    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=400)  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str]  # noqa: N815
    commonLabels: dict[str, str]  # noqa: N815
    commonAnnotations: dict[str, str]  # noqa: N815
    externalURL: str  # noqa: N815
    alerts: list[AmAlert] = Field(min_length=1)


def _parse(model: type[M], body: object) -> M:
    """The body as ``model``; a 422 naming the field (``body`` when it is not an object)."""
    return parse(model, body)


@bp.post("/intake/alertmanager")
def intake_alertmanager() -> ResponseReturnValue:
    require(caps().can_log, "raising incidents is for the command center (3(3))")
    body = _parse(AlertmanagerPayload, json_body())
    title = body.commonAnnotations.get("summary") or " ".join(
        f"{k}={v}" for k, v in sorted(body.groupLabels.items())
    )
    note = Notification(
        source="alertmanager",
        key=body.groupKey,
        title=title or body.groupKey,
        labels=body.commonLabels,
        description=body.commonAnnotations.get("description", ""),
        alerts=[
            Alert(
                status=a.status,
                labels=a.labels,
                annotations=a.annotations,
                starts_at=a.startsAt if a.startsAt.year > 1 else None,
                ends_at=a.endsAt if a.endsAt.year > 1 else None,
                fingerprint=a.fingerprint,
            )
            for a in body.alerts
        ],
        extra={"receiver": body.receiver, "truncated_alerts": body.truncatedAlerts},
    )
    with unit() as session:
        result = ingest(session, note=note, now=now(), policy=services().policy)
    return jsonify({"incident_id": result.incident_id, "created": result.created})


def intake_schemas() -> dict[str, Any]:
    """The request bodies, generated from the models, for the OpenAPI document."""
    schema = AlertmanagerPayload.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"AlertmanagerPayload": schema, **defs}


ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def intake_paths() -> dict[str, Any]:
    body = {"$ref": "#/components/schemas/AlertmanagerPayload"}
    result = {
        "type": "object",
        "properties": {"incident_id": {"type": "integer"}, "created": {"type": "boolean"}},
        "required": ["incident_id", "created"],
    }
    return {
        "/intake/alertmanager": {
            "post": {
                "operationId": "intakeAlertmanager",
                "summary": "Alertmanager webhook (version 4): one incident per alert group",
                "tags": ["intake"],
                "parameters": [],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {
                    "200": {
                        "description": "recorded",
                        "content": {"application/json": {"schema": result}},
                    },
                    **{
                        str(code): {"description": why, "content": ERROR_CONTENT}
                        for code, why in (
                            (400, "the body is not JSON"),
                            (401, "no usable token"),
                            (403, "the token's person may not raise incidents"),
                            (415, "the body is not application/json"),
                            (422, "a field is wrong; its name is in error.field"),
                        )
                    },
                },
            }
        }
    }
