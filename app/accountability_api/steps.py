"""The accountability API's writes: opening a case, then each step of its workflow —
findings, determination, proposal, decision (6(1)) or joint decision and approval
(6(2)), execution, the police referral, closing or waiving. Each route checks that the
caller may see the case (404 first), validates the body against its model, calls one use
case in ``accountability.cases`` inside one unit of work, and answers with the case as
it now stands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from flask import request
from flask.typing import ResponseReturnValue
from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema

from accountability import cases as workflow
from accountability.clauses import SANCTIONS
from accountability.execution import POLICE_STEPS
from accountability.facts import parse_entries
from accountability.models import PARTIES
from accountability.models import Case as CaseRow
from accountability.present import case_detail
from accountability.rules import FACT_KEYS
from accountability.workflow import MAX_TEXT
from app.accountability_api.blueprint import _incident, _visible_case, bp
from app.accountability_api.shapes import Case
from app.api.auth import actor, caps
from app.api.contract import Body, Id, endpoint, enum_of, one_of
from app.api.unit import unit
from app.extensions import db, now
from incidents.errors import ValidationError

TAG = "accountability"
STEP_ERRORS = (401, 403, 404, 409)
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]
_SANCTIONS = list(SANCTIONS)
Sanction = Annotated[str, one_of(_SANCTIONS), enum_of(_SANCTIONS)]


def _day(value: object) -> object:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError("must be a date (YYYY-MM-DD)", code="date")


Day = Annotated[date, BeforeValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]


class OpenCase(Body):
    person_id: Id = Field(description="the subject (one of the incident's subjects)")


class Finding(Body):
    fact: Annotated[str, one_of(FACT_KEYS), enum_of(FACT_KEYS)]
    value: Any
    evidence: Note | None = Field(None, description="a finding needs its evidence")
    reason: Note | None = Field(None, description="an override of a derived fact, its reason")


class Findings(Body):
    findings: list[Finding] = Field(min_length=1)


class NoFields(Body):
    """No fields; the body may be omitted."""


class Propose(Body):
    sanction: Sanction | None = Field(description="a sanction the tier allows, or null: none")
    reason: Note | None = None
    police_referral: bool = False
    judicial_referral: bool = False


class Decide(Body):
    sanction: Sanction | None = Field(None, description="left out: as proposed; null: none")
    reason: Note | None = None


class Agree(Body):
    agree: bool
    note: Note | None = None
    party: Annotated[str, one_of(PARTIES), enum_of(PARTIES)] | None = Field(
        None, description="the party spoken for, when the caller holds several"
    )


class Approve(Body):
    approve: bool
    reason: Note | None = None


class Execute(Body):
    note: Note | None = None


class PoliceStep(Body):
    step: Annotated[str, one_of(POLICE_STEPS), enum_of(POLICE_STEPS)]
    on: Day


class CloseCase(Body):
    justification: Note | None = Field(
        None, description="needed when closing with no sanction or a milder one"
    )


class Waive(Body):
    reason: Note


def _detail(case_id: int) -> dict[str, Any]:
    case = db().get(CaseRow, case_id)
    assert case is not None
    return case_detail(db(), case, now=now(), caps=caps())


def _step(
    name: str, operation_id: str, summary: str, body: type[Body], *, optional: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., ResponseReturnValue]]:
    """POST /cases/{case_id}/{name}: the case's visibility first, then the body."""
    return endpoint(
        "post",
        f"/cases/<int:case_id>/{name}",
        operation_id=operation_id,
        summary=summary,
        tag=TAG,
        response=Case,
        body=body,
        body_optional=optional,
        errors=STEP_ERRORS,
        guard=_visible_case,
        blueprint=bp,
    )


@endpoint(
    "post",
    "/incidents/<int:incident_id>/cases",
    operation_id="openCase",
    summary="Open the case of one subject",
    tag=TAG,
    response=Case,
    status=201,
    location=True,
    body=OpenCase,
    errors=STEP_ERRORS,
    guard=_incident,
    blueprint=bp,
)
def open_case(incident_id: int, body: OpenCase) -> ResponseReturnValue:
    with unit() as session:
        case = workflow.open_case(
            session, incident_id=incident_id, person_id=body.person_id, actor=actor(), now=now()
        )
        reply = case_detail(session, case, now=now(), caps=caps())
    return reply, {"Location": f"{request.script_root}/api/v1/cases/{reply['id']}"}


@_step(
    "findings",
    "enterFindings",
    "Enter findings (with evidence) or override derived facts (with a reason)",
    Findings,
)
def enter_findings(case_id: int, body: Findings) -> ResponseReturnValue:
    # The rules no schema states (a fact given twice, a value of the fact's type, evidence
    # for a finding, a reason for an override) are the domain's.
    entries = parse_entries(body.model_dump(exclude_unset=True)["findings"])
    with unit() as session:
        workflow.enter_findings(session, case_id=case_id, entries=entries, actor=actor(), now=now())
    return _detail(case_id)


@_step(
    "determine",
    "determineCase",
    "Assess the case's facts and store the determination",
    NoFields,
    optional=True,
)
def determine(case_id: int, body: NoFields) -> ResponseReturnValue:
    with unit() as session:
        workflow.determine(session, case_id=case_id, actor=actor(), now=now())
    return _detail(case_id)


@_step("propose", "proposeSanction", "Propose a sanction the tier allows, or none (null)", Propose)
def propose(case_id: int, body: Propose) -> ResponseReturnValue:
    with unit() as session:
        workflow.propose(
            session,
            case_id=case_id,
            sanction=body.sanction,
            reason=body.reason or "",
            actor=actor(),
            now=now(),
            police_referral=body.police_referral,
            judicial_referral=body.judicial_referral,
        )
    return _detail(case_id)


@_step(
    "decide", "decideCase", "A leading group member decides a 6(1) proposal", Decide, optional=True
)
def decide(case_id: int, body: Decide) -> ResponseReturnValue:
    sanction = body.sanction if "sanction" in body.model_fields_set else workflow.AS_PROPOSED
    with unit() as session:
        workflow.decide(
            session,
            case_id=case_id,
            sanction=sanction,
            reason=body.reason or "",
            actor=actor(),
            now=now(),
        )
    return _detail(case_id)


@_step("agree", "agreeJointDecision", "A 6(2) party records its agreement (or disagreement)", Agree)
def agree(case_id: int, body: Agree) -> ResponseReturnValue:
    with unit() as session:
        workflow.agree(
            session,
            case_id=case_id,
            agreed=body.agree,
            note=body.note or "",
            party=body.party,
            actor=actor(),
            now=now(),
        )
    return _detail(case_id)


@_step(
    "approve",
    "approveJointDecision",
    "A leading group member approves a 6(2) joint decision",
    Approve,
)
def approve(case_id: int, body: Approve) -> ResponseReturnValue:
    with unit() as session:
        workflow.approve(
            session,
            case_id=case_id,
            approved=body.approve,
            reason=body.reason or "",
            actor=actor(),
            now=now(),
        )
    return _detail(case_id)


@_step(
    "execute",
    "executeSanction",
    "Record that the decided sanction was carried out",
    Execute,
    optional=True,
)
def execute(case_id: int, body: Execute) -> ResponseReturnValue:
    with unit() as session:
        workflow.execute(session, case_id=case_id, note=body.note or "", actor=actor(), now=now())
    return _detail(case_id)


@_step(
    "police",
    "recordPoliceStep",
    "Record the date a police referral was reported, executed, closed",
    PoliceStep,
)
def police(case_id: int, body: PoliceStep) -> ResponseReturnValue:
    with unit() as session:
        workflow.police_step(
            session, case_id=case_id, step=body.step, on=body.on, actor=actor(), now=now()
        )
    return _detail(case_id)


@_step(
    "close",
    "closeCase",
    "Close the case; no sanction or a milder one needs a justification",
    CloseCase,
    optional=True,
)
def close(case_id: int, body: CloseCase) -> ResponseReturnValue:
    with unit() as session:
        workflow.close_case(
            session,
            case_id=case_id,
            justification=body.justification or "",
            actor=actor(),
            now=now(),
        )
    return _detail(case_id)


@_step("waive", "waiveCase", "Drop the case before a decision, with a reason", Waive)
def waive(case_id: int, body: Waive) -> ResponseReturnValue:
    with unit() as session:
        workflow.waive(session, case_id=case_id, reason=body.reason, actor=actor(), now=now())
    return _detail(case_id)
