"""The accountability API's writes: opening a case, then each step of its workflow —
findings, determination, proposal, decision (6(1)) or joint decision and approval
(6(2)), execution, the police referral, closing or waiving. Each route checks the body,
calls one use case in ``accountability.cases`` inside one unit of work, and answers
with the case as it now stands.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from accountability import cases as workflow
from accountability.facts import parse_entries
from accountability.models import Case
from accountability.present import case_detail
from accountability.workflow import MAX_TEXT
from app.accountability_api.blueprint import _incident, _visible_case, bp
from app.api.auth import actor, caps
from app.api.params import body_object, check_query, json_body, optional_text
from app.api.unit import unit
from app.extensions import db, now
from incidents.errors import ValidationError


def _detail(case_id: int) -> dict[str, Any]:
    case = db().get(Case, case_id)
    assert case is not None
    return case_detail(db(), case, now=now(), caps=caps())


def _body(allowed: tuple[str, ...], *, optional: bool = True) -> dict[str, Any]:
    check_query(())
    return body_object(json_body(optional=optional), allowed)


def _sanction(data: dict[str, Any]) -> str | None:
    value = data["sanction"]
    if value is not None and not isinstance(value, str):
        raise ValidationError("must be a sanction code or null", field="sanction")
    return value


def _text(data: dict[str, Any], name: str) -> str:
    return optional_text(data, name, max_len=MAX_TEXT)


def _flag(data: dict[str, Any], name: str) -> bool:
    if name not in data:
        raise ValidationError("is required (true or false)", field=name)
    value = data[name]
    if type(value) is not bool:
        raise ValidationError("must be true or false", field=name)
    return value


@bp.post("/incidents/<int:incident_id>/cases")
def open_case(incident_id: int) -> ResponseReturnValue:
    _incident(incident_id)
    data = _body(("person_id",), optional=False)
    if "person_id" not in data:
        raise ValidationError("is required", field="person_id")
    with unit() as session:
        case = workflow.open_case(
            session,
            incident_id=incident_id,
            person_id=data["person_id"],
            actor=actor(),
            now=now(),
        )
        body = case_detail(session, case, now=now(), caps=caps())
    reply = jsonify(body)
    reply.status_code = 201
    reply.headers["Location"] = f"{request.script_root}/api/v1/cases/{body['id']}"
    return reply


@bp.post("/cases/<int:case_id>/findings")
def enter_findings(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("findings",), optional=False)
    entries = parse_entries(data.get("findings"))
    with unit() as session:
        workflow.enter_findings(session, case_id=case_id, entries=entries, actor=actor(), now=now())
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/determine")
def determine(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    _body(())
    with unit() as session:
        workflow.determine(session, case_id=case_id, actor=actor(), now=now())
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/propose")
def propose(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("sanction", "reason", "police_referral", "judicial_referral"), optional=False)
    if "sanction" not in data:
        raise ValidationError("is required (a sanction code, or null for none)", field="sanction")
    with unit() as session:
        workflow.propose(
            session,
            case_id=case_id,
            sanction=_sanction(data),
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
            # Type-checked by the use case, which names the field.
            police_referral=data.get("police_referral", False),
            judicial_referral=data.get("judicial_referral", False),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/decide")
def decide(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("sanction", "reason"))
    sanction = _sanction(data) if "sanction" in data else workflow.AS_PROPOSED
    with unit() as session:
        workflow.decide(
            session,
            case_id=case_id,
            sanction=sanction,
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/agree")
def agree(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("agree", "note", "party"), optional=False)
    party = data.get("party")
    if party is not None and not isinstance(party, str):
        raise ValidationError("must be a party code", field="party")
    with unit() as session:
        workflow.agree(
            session,
            case_id=case_id,
            agreed=_flag(data, "agree"),
            note=_text(data, "note"),
            party=party,
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/approve")
def approve(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("approve", "reason"), optional=False)
    with unit() as session:
        workflow.approve(
            session,
            case_id=case_id,
            approved=_flag(data, "approve"),
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/execute")
def execute(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("note",))
    with unit() as session:
        workflow.execute(
            session, case_id=case_id, note=_text(data, "note"), actor=actor(), now=now()
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/police")
def police(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("step", "on"), optional=False)
    step = data.get("step")
    if not isinstance(step, str):
        raise ValidationError("is required: reported, executed or closed", field="step")
    raw = data.get("on")
    try:
        on = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        on = None
    if on is None:
        raise ValidationError("must be a date (YYYY-MM-DD)", field="on")
    with unit() as session:
        workflow.police_step(session, case_id=case_id, step=step, on=on, actor=actor(), now=now())
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/close")
def close(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("justification",))
    with unit() as session:
        workflow.close_case(
            session,
            case_id=case_id,
            justification=_text(data, "justification"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))


@bp.post("/cases/<int:case_id>/waive")
def waive(case_id: int) -> ResponseReturnValue:
    _visible_case(case_id)
    data = _body(("reason",), optional=False)
    with unit() as session:
        workflow.waive(
            session,
            case_id=case_id,
            reason=_text(data, "reason"),
            actor=actor(),
            now=now(),
        )
    return jsonify(_detail(case_id))
