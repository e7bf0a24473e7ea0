"""Cases: one per (incident, subject), from findings to a determination and a proposal.

The workflow, with who may take each step (``accountability.access``):

    open ─findings─▶ determine ─▶ propose ─┬─ 6(1) ─▶ decide ──────────────┐
                                           └─ 6(2) ─▶ agree ×3 ─▶ approve ─┤
                                                                           ▼
    waive (with a reason, any time before a decision)      decided ─▶ executed ─▶ closed
                                     (a police referral: reported ─▶ executed ─▶ closed)

Opening, findings, determinations and proposals live here; the Article 6 decision in
``accountability.decisions`` and what follows it in ``accountability.execution``, both
re-exported below so that the faces have one module to call. Every step is audited, and
the people who must act next are notified through the escalation outbox.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accountability import notify
from accountability.access import (
    INVESTIGATORS,
    caps_of,
    party_holders,
    require_not_subject,
    require_role,
)
from accountability.decisions import AS_PROPOSED, agree, approve, decide
from accountability.execution import POLICE_STEPS, close_case, execute, police_step
from accountability.facts import Entry, case_facts, record_findings
from accountability.models import UNDECIDED_STATUSES, Case, Determination, Finding
from accountability.rules import RULE_VERSION, assess
from accountability.subjects import subject_of
from accountability.workflow import (
    NO_PROPOSAL,
    allowed_for,
    audit,
    cas,
    check_referral,
    check_sanction,
    collapsed_by_exemption,
    decider_of,
    get_case,
    require_status,
    text,
)
from incidents.audit import Actor
from incidents.errors import N_, Conflict, NotFound, ValidationError
from incidents.service import get_incident

__all__ = [
    "AS_PROPOSED",
    "POLICE_STEPS",
    "agree",
    "approve",
    "cases_of_incident",
    "close_case",
    "decide",
    "determine",
    "enter_findings",
    "execute",
    "get_case",
    "open_case",
    "police_step",
    "propose",
    "waive",
]


def open_case(
    session: Session, *, incident_id: int, person_id: int, actor: Actor, now: datetime
) -> Case:
    """Open the case of ``person_id`` for ``incident_id``; they must answer under Article 3.

    Investigators only; one case per (incident, person): a second is a ``Conflict``.
    """
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, INVESTIGATORS, "open an accountability case")
    # Locked, so that closing the incident and opening a case on it are serialised.
    incident = get_incident(session, incident_id, lock=True)
    if incident.status == "closed":
        raise Conflict(
            "the incident is closed; reopen it before opening a case",
            field="status",
            code="status.incident_closed_reopen_before",
        )
    if type(person_id) is not int:
        raise ValidationError("must be a person id", field="person_id", code="person_id.person_id")
    try:
        subject = subject_of(session, incident, person_id)
    except NotFound as exc:
        raise ValidationError(
            exc.msgid, field="person_id", code=exc.code, params=exc.params
        ) from None
    if caps.person_id == subject.person_id:
        raise Conflict(
            "nobody opens a case on themselves",
            field="person_id",
            code="person_id.nobody_opens_case_themselves",
        )
    existing = session.scalar(
        select(Case.id).where(Case.incident_id == incident_id, Case.subject_id == person_id)
    )
    if existing is not None:
        raise Conflict(
            "this subject already has case %(existing)s for the incident",
            field="person_id",
            code="exists",
            params={"existing": existing},
        )
    case = Case(
        incident_id=incident_id,
        subject_id=subject.person_id,
        subject_role=subject.role,
        subject_clause=subject.clause,
        subject_basis=subject.basis.kind,
        subject_department_id=subject.department_id,
        status="open",
        version=1,
        opened_by_id=actor.person_id,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            "this subject already has a case for the incident", field="person_id", code="exists"
        ) from None
    audit(
        session,
        case,
        actor=actor,
        kind="case.opened",
        now=now,
        data={
            "role": subject.role,
            "clause": subject.clause,
            "basis": subject.basis.kind,
            "also": [basis.kind for basis in subject.also],
            "department_id": subject.department_id,
        },
    )
    return case


def cases_of_incident(session: Session, incident_id: int) -> list[Case]:
    return list(
        session.scalars(select(Case).where(Case.incident_id == incident_id).order_by(Case.id))
    )


def enter_findings(
    session: Session, *, case_id: int, entries: list[Entry], actor: Actor, now: datetime
) -> list[Finding]:
    """Enter findings and overrides (see ``accountability.facts.record_findings``)."""
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, INVESTIGATORS, "enter findings")
    require_not_subject(caps, case)
    require_status(case, UNDECIDED_STATUSES, N_("enter findings on"))
    rows = record_findings(session, case=case, entries=entries, actor=actor, now=now)
    # Touch the case so that a concurrent step sees it changed (and its list sorts).
    cas(session, case, now)
    return rows


def determine(session: Session, *, case_id: int, actor: Actor, now: datetime) -> Determination:
    """Assess the case's facts under Article 5 and store the result with the facts snapshot
    and the rule version. A new determination withdraws a live proposal."""
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, INVESTIGATORS, "determine a case")
    require_not_subject(caps, case)
    require_status(case, UNDECIDED_STATUSES, N_("determine"))
    facts = case_facts(session, case, now=now)
    pending = facts.pending()
    if pending:
        # Among them "reported as required" while a report is still due in time.
        detail = facts.get(pending[0]).detail[1]
        raise Conflict(
            "%(pending)s is not known from the record yet (%(detail)s); wait for it, or "
            "override it with a reason",
            field=pending[0],
            code="fact_pending",
            params={"pending": pending[0], "detail": detail},
        )
    # Only what is established (the record, an override, a finding) is given: a fact
    # left to its default that decides a clause is a presumption, and refused.
    assessment = assess(facts.established())
    if assessment.presumed:
        key = assessment.presumed[0]
        raise Conflict(
            "%(key)s decides the outcome here but is presumed, not established: enter it as "
            "a finding with its evidence",
            field=key,
            code="fact_presumed",
            params={"key": key},
        )
    row = Determination(
        case_id=case.id,
        rule_version=RULE_VERSION,
        facts_json=json.dumps(assessment.facts),
        sources_json=json.dumps({fv.key: fv.to_dict() for fv in facts.values}),
        assessment_json=json.dumps(assessment.to_dict(), ensure_ascii=False),
        tier=assessment.tier,
        determined_by_id=actor.person_id,
        determined_at=now,
    )
    session.add(row)
    session.flush()
    withdrawn = case.has_proposal
    cas(
        session,
        case,
        now,
        status="determined",
        tier=assessment.tier,
        uncovered=assessment.uncovered,
        **NO_PROPOSAL,
    )
    audit(
        session,
        case,
        actor=actor,
        kind="case.determined",
        now=now,
        data={
            "determination_id": row.id,
            "rule_version": RULE_VERSION,
            "tier": assessment.tier,
            "clauses": list(assessment.clause_ids),
            "waived": list(assessment.waived_ids),
            "exemption": assessment.exemption,
            "uncovered": assessment.uncovered,
            "facts": assessment.facts,
            "proposal_withdrawn": withdrawn,
        },
    )
    return row


def propose(
    session: Session,
    *,
    case_id: int,
    sanction: str | None,
    reason: str = "",
    actor: Actor,
    now: datetime,
    police_referral: bool = False,
    judicial_referral: bool = False,
) -> Case:
    """Propose ``sanction`` (None: none) on the latest determination.

    Under 6(1) the case then awaits a leading group member's decision; under 6(2) the
    three parties' agreements. See ``workflow.check_sanction`` for what may be proposed.
    At tier 4 the sanction is serious handling, and ``police_referral`` adds the referral
    to the police where very serious (``workflow.check_referral``). ``judicial_referral``
    records Art. 4's "构成违法犯罪的由司法机关依法追究刑事责任" at any tier; both need
    the reason written down.
    """
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, INVESTIGATORS, "propose a sanction")
    require_not_subject(caps, case)
    require_status(case, {"determined", "proposed", "agreeing", "approving"}, N_("propose on"))
    if case.tier is None:
        raise Conflict(
            "determine the case before proposing",
            field="status",
            code="status.determine_case_before_proposing",
        )
    reason = text(reason, "reason")
    check_sanction(case.tier, case.uncovered, sanction, reason, allowed_for(case))
    check_referral(case.tier, police_referral, reason)
    if type(judicial_referral) is not bool:
        raise ValidationError(
            "must be true or false", field="judicial_referral", code="judicial_referral.true_false"
        )
    if judicial_referral and not reason:
        raise ValidationError(
            "a referral to the judicial organs needs the reason the conduct is a crime (Art. "
            "4 构成违法犯罪的)",
            field="reason",
            code="reason.referral_judicial_organs_needs",
        )
    decider = decider_of(sanction)
    cas(
        session,
        case,
        now,
        status="proposed" if decider == "6(1)" else "agreeing",
        round=case.round + 1,
        proposed_sanction=sanction,
        proposal_reason=reason,
        proposed_by_id=actor.person_id,
        proposed_at=now,
        decider_clause=decider,
        police_referral=police_referral,
        judicial_referral=judicial_referral,
        referral_reason=reason if (police_referral or judicial_referral) else "",
    )
    audit(
        session,
        case,
        actor=actor,
        kind="case.proposed",
        now=now,
        data={
            "sanction": sanction,
            "reason": reason,
            "decider": decider,
            "round": case.round,
            "tier": case.tier,
            "police_referral": police_referral,
            "judicial_referral": judicial_referral,
        },
    )
    if decider == "6(1)":
        notify.leading_group(session, case, now=now, step="decide", actor=actor)
    else:
        holders = party_holders(session, case, now)
        notify.people(
            session,
            case,
            [p for found in holders.values() for p in found],
            now=now,
            step="agree",
            actor=actor,
        )
    return case


def waive(session: Session, *, case_id: int, reason: str, actor: Actor, now: datetime) -> Case:
    """Drop the case before a decision, with a reason.

    A waived case whose determination found accountability (tier ≥ 1), or whose tier a
    5.5 exemption brought down to 0, ends with no sanction: it is listed for the leading
    group as a possible perfunctory closure (5.4 closing sentence), and the leading group
    is told.
    """
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, INVESTIGATORS, "waive a case")
    require_not_subject(caps, case)
    require_status(case, UNDECIDED_STATUSES, N_("waive"))
    reason = text(reason, "reason", required=True)
    flagged = bool(case.tier) or collapsed_by_exemption(case)
    cas(
        session,
        case,
        now,
        status="waived",
        waived_reason=reason,
        justification=reason,
        perfunctory=flagged,
        closed_at=now,
        closed_by_id=actor.person_id,
        **NO_PROPOSAL,
    )
    audit(
        session,
        case,
        actor=actor,
        kind="case.waived",
        now=now,
        data={"reason": reason, "tier": case.tier, "perfunctory": flagged},
    )
    if flagged:
        notify.leading_group(session, case, now=now, step="perfunctory", actor=actor)
    return case
