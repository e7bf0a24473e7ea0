"""Monitoring intake: Alertmanager's webhook (version 4) and a generic JSON webhook.

Both are declared through ``app.api.contract``: the bodies are pydantic v2 models that
refuse unknown fields, the first error is a 422 naming the field (its dotted path), and
nothing is written. Both call the one use case, ``escalation.intake.ingest``.

Who may post: a token of scope ``intake`` (a monitoring system's, ``fenghuo token create
--scope intake``), which may do nothing else; or an ordinary token whose person may log
incidents (the command center, 3(3)).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.auth import caps, token_scope
from app.api.contract import Body, DateTimeIn, Id, Out, endpoint
from app.api.grading import Category, Grade
from app.api.unit import unit
from app.extensions import now, services
from escalation.intake import Alert, Notification, ingest
from incidents.permissions import require

_WHO = "A token of scope `intake`, or one whose person may log incidents (3(3))."


def _require_intake() -> None:
    if token_scope() == "intake":
        return  # a monitoring system's token: posting alerts is all it may do
    require(
        caps().can_log,
        "raising incidents is for the command center (3(3))",
        code="only_command_center_logs",
    )


class IntakeResult(Out):
    incident_id: Id
    created: bool = Field(description="true when this notification opened the incident")


def _record(note: Notification) -> IntakeResult:
    with unit() as session:
        result = ingest(session, note=note, now=now(), policy=services().policy)
    return IntakeResult(incident_id=result.incident_id, created=result.created)


# --- Alertmanager ----------------------------------------------------------------------


class _Alertmanager(BaseModel):
    """Alertmanager's own body: closed, but not strict (its times are strings)."""

    model_config = ConfigDict(extra="forbid")


class AmAlert(_Alertmanager):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str


class AlertmanagerPayload(_Alertmanager):
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


@endpoint(
    "POST",
    "/intake/alertmanager",
    operation_id="intakeAlertmanager",
    summary="Alertmanager webhook (version 4): one incident per alert group",
    tag="intake",
    body=AlertmanagerPayload,
    response=IntakeResult,
    errors=(401, 403),
    description="Deduplicated on `groupKey`. " + _WHO + " See docs/intake.md.",
)
def intake_alertmanager(body: AlertmanagerPayload) -> IntakeResult:
    _require_intake()
    title = body.commonAnnotations.get("summary") or " ".join(
        f"{k}={v}" for k, v in sorted(body.groupLabels.items())
    )
    return _record(
        Notification(
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
    )


# --- the generic webhook ---------------------------------------------------------------

Text = Annotated[str, Field(max_length=300)]


class WebhookAlert(Body):
    """One alert from any monitoring system (SIEM, WAF, IDS, a script)."""

    source: Annotated[
        str,
        Field(
            min_length=1,
            max_length=32,
            pattern=r"^[a-z0-9][a-z0-9_.-]*$",
            description="the sending system, e.g. `siem`; part of the dedup key and of "
            "the audit actor (`monitoring:<source>`)",
        ),
    ]
    key: Annotated[
        str,
        Field(
            min_length=1,
            max_length=400,
            description="the caller's dedup key: every alert with this source and key "
            "belongs to one group, hence one incident",
        ),
    ]
    status: Literal["firing", "resolved"]
    title: Annotated[str, Field(min_length=1, max_length=300)]
    description: Annotated[str, Field(max_length=20000)] = ""
    labels: Annotated[
        dict[str, Text],
        Field(
            max_length=64,
            description="mapped to system, department, category and grade by the "
            "policy's [intake] section",
        ),
    ] = Field(default_factory=dict)
    severity: Annotated[
        str | None,
        Field(max_length=64, description="read through [intake] grades, as a severity label"),
    ] = None
    grade: Annotated[
        Grade | None, Field(description="a suggested grade; wins over severity and labels")
    ] = None
    category: Category | None = None
    starts_at: DateTimeIn | None = None
    ends_at: DateTimeIn | None = None
    url: Annotated[str, Field(max_length=2000, description="the alert in its own system")] = ""


def _utc(when: datetime | None) -> datetime | None:
    return when.astimezone(UTC) if when is not None else None


@endpoint(
    "POST",
    "/intake/webhook",
    operation_id="intakeWebhook",
    summary="Generic monitoring webhook: one incident per (source, key)",
    tag="intake",
    body=WebhookAlert,
    response=IntakeResult,
    errors=(401, 403),
    description="Deduplicated on `source` and `key`. " + _WHO + " See docs/intake.md.",
)
def intake_webhook(body: WebhookAlert) -> IntakeResult:
    _require_intake()
    return _record(
        Notification(
            source="webhook",
            key=f"{body.source}:{body.key}",
            title=body.title,
            labels=body.labels,
            description=body.description,
            alerts=[
                Alert(
                    status=body.status,
                    labels=body.labels,
                    annotations={},
                    starts_at=_utc(body.starts_at),
                    ends_at=_utc(body.ends_at),
                )
            ],
            extra={"url": body.url} if body.url else {},
            origin=body.source,
            severity=body.severity,
            grade=body.grade,
            category=body.category,
        )
    )
