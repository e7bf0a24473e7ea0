"""The OpenAPI part for the clocks (issue 3, items 7–8): the lifecycle actions, report
filings, obligations, the escalation state and the figures. Report items come from
``incidents.reports`` (Art. 7 and Art. 8), the clocks' shapes from ``clock_schemas``."""

from __future__ import annotations

from typing import Any

from app.api.clock_schemas import clock_schemas
from app.api.openapi_parts import INCIDENT_ID, READ_ERRORS, WRITE_ERRORS, operation
from app.api.schemas import DATETIME, ID, STR, Schema, array, enum, nullable, obj, ref
from incidents.reports import (
    ART7_ITEMS,
    ART8_ITEMS,
    PROGRESS_ITEM,
    REPORT_KINDS,
)

ACTION_ERRORS = (401, 403, 404, 409, 415, 422)


def _item_text(number: str, zh: str, en: str) -> Schema:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": 20000,
        "description": f"item {number}: {en} — {zh}",
    }


def report_items_schema() -> Schema:
    """Art. 7 items (and ``progress`` for a follow-up), Art. 8 items for a final report."""
    props: dict[str, Schema] = {}
    for key, spec in ART7_ITEMS.items():
        if key == "ransom":
            props[key] = {
                **obj(
                    {
                        "amount": {
                            "anyOf": [{"type": "number", "minimum": 0}, {"const": "tbd"}],
                            "description": '"tbd": to be determined (Art. 7 补报)',
                        },
                        "currency": STR,
                        "method": {**STR, "description": '"tbd": to be determined'},
                        "date": {
                            "type": "string",
                            "description": 'ISO 8601 date, or "tbd": to be determined',
                        },
                        "note": STR,
                    },
                    required=(),
                ),
                "description": f"item {spec.number}: {spec.en} — {spec.zh}",
            }
        else:
            props[key] = _item_text(spec.number, spec.zh, spec.en)
    props["obligation"] = {
        "anyOf": [STR, {**array(STR), "minItems": 1}],
        "description": "initial or final: the obligation(s) this filing answers, by name "
        "(e.g. internal, external); default: every one still owed. Not stored as an item.",
    }
    props["progress"] = _item_text(PROGRESS_ITEM.number, PROGRESS_ITEM.zh, PROGRESS_ITEM.en)
    props["ransomware"] = {
        "type": "boolean",
        "description": "a ransomware incident: item 2a is then stated, each part known "
        'or "tbd" (to be determined; an initial report without it states all three so)',
    }
    for key, spec in ART8_ITEMS.items():
        props[key] = _item_text(spec.number, spec.zh, spec.en)
    return obj(
        props,
        required=(),
        description="initial: items entity and occurrence required (Art. 7 (一)(二)); "
        "supplement: any Art. 7 item; follow_up: progress and/or Art. 7 items; "
        "final: all six Art. 8 items (cause, measures, harm, accountability, "
        "rectification, lessons).",
    )


def escalation_schemas() -> dict[str, Schema]:
    kind = enum(
        REPORT_KINDS, "initial 初次报告, supplement 补报, follow_up 续报, final 处置总结报告"
    )
    return {
        "ReportItems": report_items_schema(),
        "ReportCreate": obj(
            {
                "kind": kind,
                "items": ref("ReportItems"),
                "late_reason": {
                    "type": ["string", "null"],
                    "maxLength": 2000,
                    "description": "why the filing is late, when it is",
                },
            },
            required=("kind", "items"),
        ),
        "Report": obj(
            {
                "id": ID,
                "incident_id": ID,
                "kind": kind,
                "kind_name": ref("Names"),
                "obligations": {
                    **array(STR),
                    "description": "names of the obligations this filing met",
                },
                "items": ref("ReportItems"),
                "late_reason": STR,
                "filed_at": DATETIME,
                "filed_by": nullable(ref("PersonRef")),
            }
        ),
        "ReportList": obj({"items": array(ref("Report"))}),
        "AckResult": obj(
            {
                "changed": {
                    "type": "boolean",
                    "description": "false when it was acknowledged already",
                },
                "incident": ref("Incident"),
            }
        ),
        "Recipient": obj(
            {
                "target": {**STR, "description": "the role or person:LOGIN of the step"},
                "person_id": nullable(ID),
                "login": {"type": ["string", "null"]},
            },
            description="person_id null: the target resolved to nobody when it fired",
        ),
        "EscalateResult": obj(
            {
                "step": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "index of the chain step fired",
                },
                "recipients": array(ref("Recipient")),
                "incident": ref("Incident"),
            }
        ),
        "ResolveRequest": obj({"summary": {"type": "string", "maxLength": 20000}}, required=()),
        "CloseRequest": obj({"reason": {"type": "string", "maxLength": 2000}}, required=()),
        "ReopenRequest": obj({"reason": {"type": "string", "minLength": 1, "maxLength": 2000}}),
        "Empty": obj({}, required=(), description="no fields; the body may be omitted"),
        **clock_schemas(),
    }


def _action(
    operation_id: str,
    summary: str,
    *,
    body: str,
    ok: tuple[int, str] = (200, "Incident"),
    description: str = "",
    optional: bool = True,
) -> Schema:
    return operation(
        operation_id,
        summary,
        tag="lifecycle",
        ok=ok,
        errors=ACTION_ERRORS,
        body=body,
        body_optional=optional,
        description=description,
    )


def escalation_paths() -> dict[str, Any]:
    def item(path: str, **ops: Schema) -> tuple[str, dict[str, Any]]:
        return f"/incidents/{{incident_id}}{path}", {"parameters": [INCIDENT_ID], **ops}

    return dict(
        [
            item(
                "/acknowledge",
                post=_action(
                    "acknowledgeIncident",
                    "Acknowledge: stops the acknowledgement chain",
                    body="Empty",
                    ok=(200, "AckResult"),
                    description="Anyone in the incident's responsibility chain may acknowledge. "
                    "The reporting deadlines keep running; only a filed report meets them.",
                ),
            ),
            item(
                "/start-handling",
                post=_action(
                    "startHandling",
                    "Start handling (acknowledges too, if not yet)",
                    body="Empty",
                ),
            ),
            item(
                "/resolve",
                post=_action(
                    "resolveIncident",
                    "Resolve: handling has ended; the final-report clock starts",
                    body="ResolveRequest",
                ),
            ),
            item(
                "/close",
                post=_action(
                    "closeIncident",
                    "Close (refused while obligations are pending)",
                    body="CloseRequest",
                ),
            ),
            item(
                "/reopen",
                post=_action(
                    "reopenIncident",
                    "Reopen a resolved or closed incident, with a reason",
                    body="ReopenRequest",
                    optional=False,
                ),
            ),
            item(
                "/escalate",
                post=_action(
                    "escalateNow",
                    "Escalate now: fire the next step of the chain",
                    body="Empty",
                    ok=(200, "EscalateResult"),
                ),
            ),
            item(
                "/obligations",
                get=operation(
                    "listObligations",
                    "Reports owed: deadlines, status, time left",
                    tag="reports",
                    ok=(200, "Obligations"),
                ),
            ),
            item(
                "/escalation",
                get=operation(
                    "getEscalation",
                    "The escalation: chain, pages, delivery, acknowledgement",
                    tag="escalation",
                    ok=(200, "EscalationState"),
                ),
            ),
            (
                "/stats",
                {
                    "get": operation(
                        "getStats",
                        "Figures per grade: open, unacknowledged, due, breached",
                        tag="escalation",
                        ok=(200, "Stats"),
                        errors=(*READ_ERRORS, 403),
                        description="Bureau-wide, so only for those who see every incident. "
                        "Shares are fractions; times are seconds.",
                    )
                },
            ),
            item(
                "/reports",
                get=operation(
                    "listReports",
                    "The incident's report filings, oldest first",
                    tag="reports",
                    ok=(200, "ReportList"),
                ),
                post=operation(
                    "fileReport",
                    "File a report (Art. 7 items, or Art. 8 for the final)",
                    tag="reports",
                    ok=(201, "Report"),
                    errors=WRITE_ERRORS,
                    body="ReportCreate",
                    description="Fulfils the pending obligations the filing answers; a late "
                    "filing is recorded as late, with its reason.",
                ),
            ),
        ]
    )
