"""What follows an Article 6 decision: carrying it out, a police referral, closing the case.

- Art. 4: "由局办公室…给予当事人…处理" — the bureau Office carries out (imposes) the
  handling that Article 6 decided (``execute``; the Office, with HR for disciplinary
  handling and the investigators, ``access.EXECUTORS``).
- Tier 4 is serious handling, carried out like any other; a police referral beside it
  (情况十分严重者应报警处理) records in addition the dates it was reported, executed and
  closed (``police_step``). The case closes once both are done.
- ``close_case`` ends it. Closing with no sanction, or a milder one than the tier allows,
  needs a written justification and lists the case for the leading group as a possible
  perfunctory closure (5.4 closing sentence, 敷衍结案).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from accountability import notify
from accountability.access import (
    EXECUTORS,
    INVESTIGATORS,
    caps_of,
    require_not_subject,
    require_role,
)
from accountability.models import Case
from accountability.rules import is_milder_than_allowed
from accountability.workflow import (
    audit,
    cas,
    collapsed_by_exemption,
    get_case,
    require_status,
    text,
)
from incidents.audit import Actor
from incidents.errors import N_, Conflict, ValidationError

POLICE_STEPS = ("reported", "executed", "closed")


def execute(session: Session, *, case_id: int, actor: Actor, now: datetime, note: str = "") -> Case:
    """Record that the decided sanction was carried out (a police referral uses
    ``police_step``)."""
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, EXECUTORS, "record that a sanction was carried out")
    require_not_subject(caps, case)
    require_status(case, {"decided"}, N_("carry out"))
    if case.sanction is None:
        raise Conflict(
            "no sanction was decided: close the case instead",
            field="status",
            code="status.no_sanction_was_decided",
        )
    note = text(note, "note")
    cas(session, case, now, status="executed", executed_at=now, executed_by_id=actor.person_id)
    audit(
        session,
        case,
        actor=actor,
        kind="case.executed",
        now=now,
        data={"sanction": case.sanction, "note": note, "art4": "由局办公室…给予当事人…处理"},
    )
    if not case.police_referral or case.police_closed_on is not None:
        notify.investigators(session, case, now=now, step="close", actor=actor)
    return case


def police_step(
    session: Session, *, case_id: int, step: str, on: date, actor: Actor, now: datetime
) -> Case:
    """Record the date a police referral was reported, executed (the police took it up),
    or closed. Each in turn; dates never go backwards. The referral runs beside the
    serious handling, whose execution it neither needs nor replaces."""
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, INVESTIGATORS, "record a police referral")
    require_not_subject(caps, case)
    if step not in POLICE_STEPS:
        raise ValidationError(
            "step must be one of %(choices)s",
            field="step",
            code="step.step",
            params={"choices": ", ".join(POLICE_STEPS)},
        )
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationError("must be a date (YYYY-MM-DD)", field="on", code="on.date")
    if not case.police_referral:
        raise Conflict(
            "the decision made no police referral",
            field="step",
            code="step.decision_made_no_police",
        )
    require_status(case, {"decided", "executed"}, N_("record a police referral on"))
    # The latest calendar date anywhere is UTC+14: a later one has not happened yet.
    if on > (now + timedelta(hours=14)).date():
        raise ValidationError("cannot be in the future", field="on", code="on.cannot_future")
    if step == "reported":
        if case.police_reported_on is not None:
            raise Conflict(
                "the report to the police is already recorded",
                field="step",
                code="step.report_police_already_recorded",
            )
        cas(session, case, now, police_reported_on=on)
    elif step == "executed":
        if case.police_reported_on is None:
            raise Conflict(
                "record the report to the police first",
                field="step",
                code="step.record_report_police_first",
            )
        if case.police_executed_on is not None:
            raise Conflict(
                "the police's action is already recorded",
                field="step",
                code="step.police_action_already_recorded",
            )
        if on < case.police_reported_on:
            raise ValidationError(
                "cannot be before the date reported",
                field="on",
                code="on.cannot_before_date_reported",
            )
        cas(session, case, now, police_executed_on=on)
    else:
        if case.police_closed_on is not None:
            raise Conflict(
                "the police closing is already recorded",
                field="step",
                code="step.police_closing_already_recorded",
            )
        if case.police_executed_on is None:
            raise Conflict(
                "record the police's action first",
                field="step",
                code="step.record_police_action_first",
            )
        if on < case.police_executed_on:
            raise ValidationError(
                "cannot be before the date executed",
                field="on",
                code="on.cannot_before_date_executed",
            )
        cas(session, case, now, police_closed_on=on)
    audit(session, case, actor=actor, kind=f"police.{step}", now=now, data={"on": on.isoformat()})
    if step == "closed" and case.status == "executed":
        notify.investigators(session, case, now=now, step="close", actor=actor)
    return case


def close_case(
    session: Session, *, case_id: int, actor: Actor, now: datetime, justification: str = ""
) -> Case:
    """Close a carried-out case (or one decided with no sanction).

    5.4 closing sentence: with no sanction, or a milder one than the tier allows, a
    written justification is required and the case is listed for the leading group as
    a possible perfunctory closure.
    """
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, INVESTIGATORS, "close a case")
    require_not_subject(caps, case)
    if case.status == "decided" and case.sanction is not None:
        raise Conflict(
            "the sanction has not been carried out yet",
            field="status",
            code="status.sanction_has_not_been",
        )
    require_status(case, {"decided", "executed"}, N_("close"))
    if case.police_referral and case.police_closed_on is None:
        raise Conflict(
            "record the police closing before closing the case",
            field="status",
            code="status.record_police_closing_before",
        )
    assert case.tier is not None
    justification = text(justification, "justification")
    flagged = is_milder_than_allowed(case.tier, case.sanction) or (
        case.sanction is None and collapsed_by_exemption(case)
    )
    if flagged and not justification:
        allowed = "none" if case.sanction is None else case.sanction
        raise ValidationError(
            "closing with %(allowed)s where tier %(tier)s applies needs a written "
            "justification (5.4 closing sentence)",
            field="justification",
            code="justification.closing_where_tier_applies",
            params={"allowed": allowed, "tier": case.tier},
        )
    cas(
        session,
        case,
        now,
        status="closed",
        closed_at=now,
        closed_by_id=actor.person_id,
        justification=justification,
        perfunctory=flagged,
    )
    audit(
        session,
        case,
        actor=actor,
        kind="case.closed",
        now=now,
        data={
            "sanction": case.sanction,
            "tier": case.tier,
            "perfunctory": flagged,
            "justification": justification,
        },
    )
    if flagged:
        notify.leading_group(session, case, now=now, step="perfunctory", actor=actor)
    return case
