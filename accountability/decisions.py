"""The Article 6 decision on a proposal.

- 6(1): a leading group member decides the proposal (or another 6(1) sanction, or none,
  with a reason) — ``decide``.
- 6(2): the security office, HR and the competent department each record their agreement
  (``agree``; a disagreement sends the proposal back), then a leading group member
  approves (``approve``) before it is carried out.

What follows a decision is in ``accountability.execution``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accountability import notify
from accountability.access import (
    APPROVERS,
    DECIDERS,
    PARTIES,
    caps_of,
    parties_of,
    require_not_subject,
    require_role,
)
from accountability.models import Agreement, Case
from accountability.workflow import (
    NO_PROPOSAL,
    allowed_for,
    audit,
    cas,
    check_sanction,
    decider_of,
    get_case,
    require_status,
    text,
)
from incidents.audit import Actor
from incidents.errors import N_, Conflict, Forbidden, ValidationError

#: ``decide(sanction=AS_PROPOSED)`` decides the proposal as it stands.
AS_PROPOSED = "as_proposed"


def decide(
    session: Session,
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    sanction: str | None = AS_PROPOSED,
    reason: str = "",
) -> Case:
    """A leading group member decides a 6(1) proposal (6(1)).

    They may decide another 6(1) sanction or none, with a reason; a 6(2) sanction cannot
    be decided here — it needs the joint decision, so it must be proposed.
    """
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, DECIDERS, "decide under 6(1)")
    require_not_subject(caps, case)
    if case.status == "agreeing":
        raise Conflict(
            "this sanction is decided jointly under 6(2): the parties record their "
            "agreement, then the leading group approves",
            field="status",
            code="joint_decision",
        )
    require_status(case, {"proposed"}, N_("decide"))
    assert case.tier is not None  # a proposal needs a determination
    reason = text(reason, "reason")
    chosen = case.proposed_sanction if sanction == AS_PROPOSED else sanction
    if chosen != case.proposed_sanction:
        if not reason:
            raise ValidationError(
                "deciding otherwise than proposed needs a reason",
                field="reason",
                code="reason.deciding_otherwise_than_proposed",
            )
        check_sanction(case.tier, case.uncovered, chosen, reason, allowed_for(case))
        if decider_of(chosen) != "6(1)":
            raise Conflict(
                "%(chosen)s is decided jointly under 6(2); propose it instead",
                field="sanction",
                code="joint_decision",
                params={"chosen": chosen},
            )
    _final(session, case, actor=actor, now=now, sanction=chosen, reason=reason)
    audit(
        session,
        case,
        actor=actor,
        kind="case.decided",
        now=now,
        data={
            "sanction": chosen,
            "reason": reason,
            "clause": "6(1)",
            "proposed": case.proposed_sanction,
        },
    )
    _after_decision(session, case, actor=actor, now=now)
    return case


def agree(
    session: Session,
    *,
    case_id: int,
    agreed: bool,
    actor: Actor,
    now: datetime,
    note: str = "",
    party: str | None = None,
) -> Agreement:
    """Record one 6(2) party's answer to the live proposal.

    ``party`` may be left out when the actor speaks for exactly one party that has not
    answered. Three different people must agree; when the third does, the case awaits
    the leading group's approval. A disagreement (with its reason) sends the proposal
    back to the investigators.
    """
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_not_subject(caps, case)
    require_status(case, {"agreeing"}, N_("record agreement on"))
    if type(agreed) is not bool:
        raise ValidationError("must be true or false", field="agree", code="agree.true_false")
    if party is not None and party not in PARTIES:
        raise ValidationError(
            "party must be one of %(choices)s",
            field="party",
            code="party.party",
            params={"choices": ", ".join(PARTIES)},
        )
    note = text(note, "note", required=not agreed)
    answered = {
        a.party: a
        for a in session.scalars(
            select(Agreement).where(Agreement.case_id == case.id, Agreement.round == case.round)
        )
    }
    if any(a.person_id == actor.person_id for a in answered.values()):
        raise Forbidden(
            "you already answered for one party: a joint decision needs three people",
            code="you_already_answered_party",
        )
    mine = [p for p in parties_of(session, case, caps.person_id, now) if p not in answered]
    if party is None:
        if not mine:
            raise Forbidden(
                "only the security office, HR and the competent department decide jointly "
                "(6(2)); you speak for none that has yet to answer",
                code="only_security_office_hr",
            )
        if len(mine) > 1:
            raise ValidationError(
                "you speak for several parties; choose one of %(choices)s",
                field="party",
                code="party.you_speak_several_parties",
                params={"choices": ", ".join(mine)},
            )
        party = mine[0]
    elif party not in mine:
        if party in answered:
            raise Conflict(
                "the %(party)s has already answered",
                field="party",
                code="party.has_already_answered",
                params={"party": party},
            )
        raise Forbidden(
            "you do not speak for the %(party)s on this case",
            code="you_do_not_speak",
            params={"party": party},
        )
    assert case.proposed_sanction is not None
    row = Agreement(
        case_id=case.id,
        round=case.round,
        party=party,
        person_id=actor.person_id,
        agreed=agreed,
        sanction=case.proposed_sanction,
        note=note,
        at=now,
    )
    session.add(row)
    session.flush()
    if not agreed:
        cas(
            session,
            case,
            now,
            status="determined",
            **NO_PROPOSAL,
        )
    elif len(answered) + 1 == len(PARTIES):
        cas(session, case, now, status="approving")
    else:
        # Bump the version even so: two parties answering at once cannot both be "second".
        cas(session, case, now)
    audit(
        session,
        case,
        actor=actor,
        kind="case.agreed" if agreed else "case.disagreed",
        now=now,
        data={"party": party, "round": row.round, "sanction": row.sanction, "note": note},
    )
    if not agreed:
        notify.investigators(session, case, now=now, step="disagreed", actor=actor)
    elif case.status == "approving":
        notify.leading_group(session, case, now=now, step="approve", actor=actor)
    return row


def approve(
    session: Session,
    *,
    case_id: int,
    approved: bool,
    actor: Actor,
    now: datetime,
    reason: str = "",
) -> Case:
    """A leading group member approves the joint decision (6(2)), or refuses it with a
    reason (it goes back to the investigators)."""
    case = get_case(session, case_id)
    caps = caps_of(session, actor.person_id, now)
    require_role(caps, APPROVERS, "approve a 6(2) decision")
    require_not_subject(caps, case)
    require_status(case, {"approving"}, N_("approve"))
    if type(approved) is not bool:
        raise ValidationError("must be true or false", field="approve", code="approve.true_false")
    reason = text(reason, "reason", required=not approved)
    if not approved:
        cas(
            session,
            case,
            now,
            status="determined",
            **NO_PROPOSAL,
        )
        audit(
            session,
            case,
            actor=actor,
            kind="case.approval_refused",
            now=now,
            data={"reason": reason},
        )
        notify.investigators(session, case, now=now, step="refused", actor=actor)
        return case
    _final(session, case, actor=actor, now=now, sanction=case.proposed_sanction, reason=reason)
    audit(
        session,
        case,
        actor=actor,
        kind="case.approved",
        now=now,
        data={"sanction": case.sanction, "reason": reason, "clause": "6(2)", "round": case.round},
    )
    _after_decision(session, case, actor=actor, now=now)
    return case


def _final(
    session: Session,
    case: Case,
    *,
    actor: Actor,
    now: datetime,
    sanction: str | None,
    reason: str,
) -> None:
    determination = case.determination
    assert determination is not None
    cas(
        session,
        case,
        now,
        status="decided",
        sanction=sanction,
        decision_reason=reason,
        decided_by_id=actor.person_id,
        decided_at=now,
        # 5.2(d) counts only sanctions for not implementing the rules.
        for_noncompliance=determination.facts.get("rules_implemented") is False,
    )


def _after_decision(session: Session, case: Case, *, actor: Actor, now: datetime) -> None:
    # The subject learns the decision; those who carry it out (or close it) must act.
    notify.subject(session, case, now=now, step="decided", actor=actor)
    if case.sanction is None:
        notify.investigators(session, case, now=now, step="close", actor=actor)
    else:
        notify.executors(session, case, now=now, step="execute", actor=actor)
    if case.police_referral:
        notify.investigators(session, case, now=now, step="police", actor=actor)
