"""What every step of a case shares: loading, compare-and-set, the sanction check, the audit.

A step reads the case, checks who acts and from which state, then writes with
``UPDATE … WHERE id = :id AND version = :seen``; if another step got there first the
update matches no row and the caller is told to reload (STYLE 5). Double submissions and
two deciders at once are then harmless.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accountability.models import Case
from accountability.rules import (
    CLAUSE_TEXT,
    SANCTION_DECIDER,
    SANCTIONS,
    TIER_SANCTIONS,
    allowed_sanctions,
)
from incidents.audit import Actor, record
from incidents.errors import Conflict, NotFound, ValidationError

MAX_TEXT = 4000

#: Status -> (zh, en) for the faces.
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "open": ("调查中", "under investigation"),
    "determined": ("已认定", "determined"),
    "proposed": ("待领导小组决定", "awaiting the leading group's decision"),
    "agreeing": ("待共同决定", "awaiting the joint decision"),
    "approving": ("待领导小组审批", "awaiting the leading group's approval"),
    "decided": ("已决定,待执行", "decided, to be carried out"),
    "executed": ("已执行", "carried out"),
    "closed": ("已结案", "closed"),
    "waived": ("不予追究", "waived"),
}

#: The columns that clear a live proposal (its history stays in the audit chain).
NO_PROPOSAL: dict[str, Any] = {
    "proposed_sanction": None,
    "proposal_reason": "",
    "proposed_by_id": None,
    "proposed_at": None,
    "decider_clause": None,
    "police_referral": False,
    "judicial_referral": False,
    "referral_reason": "",
}


def get_case(session: Session, case_id: int) -> Case:
    case = session.scalars(select(Case).where(Case.id == case_id)).first()
    if case is None:
        raise NotFound(
            "no accountability case with id %(id)s",
            field="id",
            code="id.no_accountability_case_id",
            params={"id": case_id},
        )
    return case


def require_status(case: Case, allowed: Collection[str], what: str) -> None:
    if case.status not in allowed:
        raise Conflict(
            "cannot %(what)s a case that is %(status)s; possible when %(choices)s",
            field="status",
            code="illegal_step",
            params={
                "what": what,
                "status": case.status,
                "choices": ", ".join(s for s in STATUS_NAMES if s in allowed),
            },
        )


def cas(session: Session, case: Case, now: datetime, **values: Any) -> None:
    """Write ``values`` to ``case`` only if nobody changed it since it was read."""
    result = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.version == case.version)
        .values(**values, version=Case.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(case)
        raise Conflict(
            "the case changed meanwhile; reload it and try again", field="status", code="stale"
        )
    session.refresh(case)


def audit(
    session: Session,
    case: Case,
    *,
    actor: Actor,
    kind: str,
    now: datetime,
    data: Mapping[str, Any],
) -> None:
    record(
        session,
        actor=actor,
        kind=f"accountability.{kind}",
        subject_type="accountability_case",
        subject_id=case.id,
        incident_id=case.incident_id,
        now=now,
        data={"subject_id": case.subject_id, "status": case.status, **data},
    )


def text(value: object, field: str, *, required: bool = False) -> str:
    """A free-text input, stripped; ``ValidationError`` naming ``field`` if it is unusable."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=field, code="string")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise ValidationError(
            "must be at most %(max)s characters",
            field=field,
            code="too_long",
            params={"max": MAX_TEXT},
        )
    if required and not value:
        raise ValidationError("is required", field=field, code="required")
    return value


def allowed_for(case: Case) -> tuple[str, ...]:
    """What the case's latest determination allows (its tier's sanctions, narrowed where
    a clause names its own: the 5.4 closing sentence's 通报批评)."""
    determination = case.determination
    tier = case.tier if case.tier is not None else 0
    if determination is None:
        return TIER_SANCTIONS[tier]
    clauses = [c["id"] for c in determination.assessment.get("clauses", [])]
    return allowed_sanctions(tier, [c for c in clauses if c in CLAUSE_TEXT])


def check_sanction(
    tier: int,
    uncovered: bool,
    sanction: str | None,
    reason: str,
    allowed: tuple[str, ...] | None = None,
) -> None:
    """Whether ``sanction`` (None: none) may be proposed or decided on a case of ``tier``.

    - tier 4 is serious handling and nothing else (5.4 应当予严肃处理); a police referral
      is added beside it, not chosen instead (``check_referral``);
    - a sanction the tier allows (Article 5) is always possible;
    - no sanction, or a milder one than the tier allows, needs a written justification:
      closing so is what the 5.4 closing sentence watches (敷衍结案);
    - a situation Article 5 does not cover is for the leading group's judgement, written
      down: any sanction, with its reasons;
    - a graver sanction than the tier allows is refused, and so is any sanction where
      the tier is 0 for a covered situation (nothing matched, or 5.5 exempts).
    """
    if sanction is not None and sanction not in SANCTIONS:
        raise ValidationError(
            "unknown sanction; one of %(choices)s or null",
            field="sanction",
            code="sanction.unknown_sanction_null",
            params={"choices": ", ".join(SANCTIONS)},
        )
    if tier == 4 and sanction != "serious_handling":
        # 5.4: 应当予严肃处理,情况十分严重者应报警处理 — "shall", and the referral is
        # an addition to serious handling (police_referral=true), never a substitute.
        raise ValidationError(
            "tier 4 is serious handling (严肃处理), always; a police referral where very serious "
            "comes in addition to it (police_referral), never instead",
            field="sanction",
            code="sanction.tier_4_serious_handling",
        )
    if allowed is None:
        allowed = TIER_SANCTIONS[tier]
    if sanction in allowed:
        return
    if uncovered and sanction is not None:
        if not reason:
            raise ValidationError(
                "Article 5 does not cover this case: the leading group's judgement needs its "
                "reasons written down",
                field="reason",
                code="reason.article_5_does_not",
            )
        return
    order = list(SANCTIONS)
    milder = bool(allowed) and (sanction is None or order.index(sanction) < order.index(allowed[0]))
    if milder:
        if not reason:
            what = "no sanction" if sanction is None else f"{sanction}, milder than"
            raise ValidationError(
                "%(what)s tier %(tier)s allows (%(allowed)s) needs a written justification "
                "(5.4 closing sentence)",
                field="reason",
                code="reason.tier_allows_needs_written",
                params={"what": what, "tier": tier, "allowed": ", ".join(allowed)},
            )
        return
    if sanction is None:
        return
    if not allowed:
        raise ValidationError(
            "tier 0 allows no sanction: nothing in Article 5 matched, or 5.5 exempts",
            field="sanction",
            code="sanction.tier_0_allows_no",
        )
    raise ValidationError(
        "tier %(tier)s allows %(allowed)s; %(sanction)s is graver than that",
        field="sanction",
        code="sanction.tier_allows_graver_than",
        params={"tier": tier, "allowed": ", ".join(allowed), "sanction": sanction},
    )


def check_referral(tier: int, police_referral: bool, reason: str) -> None:
    """Whether a police referral may be added: tier 4 only (情况十分严重者应报警处理), and
    the written reason must say why the case is very serious."""
    if type(police_referral) is not bool:
        raise ValidationError(
            "must be true or false", field="police_referral", code="police_referral.true_false"
        )
    if not police_referral:
        return
    if tier != 4:
        raise ValidationError(
            "a police referral (报警处理) is for tier 4 only; this case is tier %(tier)s",
            field="police_referral",
            code="police_referral.police_referral_tier_4",
            params={"tier": tier},
        )
    if not reason:
        raise ValidationError(
            "a police referral needs the reason the case is very serious (情况十分严重)",
            field="reason",
            code="reason.police_referral_needs_reason",
        )


def collapsed_by_exemption(case: Case) -> bool:
    """The case's determination matched clauses that a 5.5 exemption waived down to tier
    0: ending it with nothing is watched like any other closure without a sanction (5.4
    closing sentence), since the exemption is where a perfunctory closure would hide."""
    determination = case.determination
    if determination is None or determination.tier != 0:
        return False
    return bool(determination.assessment.get("waived"))


def decider_of(sanction: str | None) -> str:
    """The Article 6 clause that decides ``sanction``; imposing nothing is the leading
    group's own decision, 6(1)."""
    return "6(1)" if sanction is None else SANCTION_DECIDER[sanction]
