"""Report filings (CAC measures Art. 7 and Art. 8) on one incident.

``POST`` files a report through ``escalation.response.file_report``, which validates the
items for the kind of filing, fulfils the obligations it answers (on time or late) and
audits it. ``GET`` lists the filings as filed, oldest first.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import actor
from app.api.incidents import ensure_visible
from app.api.params import body_object, check_query, json_body, optional_text
from app.api.serialize import report as report_json
from app.api.unit import unit
from app.extensions import db, now, services
from escalation import response
from incidents.errors import ValidationError
from incidents.reports import REPORT_KINDS, reports_of


@bp.post("/incidents/<int:incident_id>/reports")
def file_report(incident_id: int) -> ResponseReturnValue:
    check_query(())
    ensure_visible(incident_id)
    data = body_object(json_body(), ("kind", "items", "late_reason"))
    kind = data.get("kind")
    if kind is None:
        raise ValidationError("is required", field="kind")
    if not isinstance(kind, str) or kind not in REPORT_KINDS:
        raise ValidationError(
            f"must be one of {', '.join(REPORT_KINDS)}; got {kind!r}", field="kind"
        )
    items: Any = data.get("items")
    if not isinstance(items, dict):
        raise ValidationError("must be an object of report items", field="items")
    late_reason = optional_text(data, "late_reason") or None
    with unit() as session:
        filed = response.file_report(
            session,
            incident_id=incident_id,
            kind=kind,
            items=items,
            actor=actor(),
            now=now(),
            policy=services().policy,
            late_reason=late_reason,
        )
        body = report_json(filed)
    reply = jsonify(body)
    reply.status_code = 201
    return reply


@bp.get("/incidents/<int:incident_id>/reports")
def list_reports(incident_id: int) -> ResponseReturnValue:
    check_query(())
    ensure_visible(incident_id)
    return jsonify({"items": [report_json(row) for row in reports_of(db(), incident_id)]})
