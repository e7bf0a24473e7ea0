"""Telling those who must act next on a case, through the escalation outbox.

Each notice is an immediate ``case`` notice written by ``escalation.firing.Firing`` in the
transaction of the step, so it reaches the in-app inbox and every channel the person
has (Telegram included) with the same delivery guarantees as an alert. The text names
the case and what is asked, never the subject or the sanction: a channel such as
Telegram leaves the building, and an accountability decision is personnel matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.orm import Session

from accountability.models import Case
from escalation.firing import Firing
from escalation.messages import Notice
from incidents.audit import Actor, system_actor
from incidents.org import Person
from incidents.responsibility import holders

#: What each step asks, (zh, en); ``{case}`` is the case number.
TEXTS: Final[dict[str, tuple[str, str]]] = {
    "decide": (
        "问责案件 #{case} 待您依第六条第(一)项作出决定",
        "accountability case #{case} awaits your decision under 6(1)",
    ),
    "agree": (
        "问责案件 #{case} 待安全办公室、人事、主管部门共同决定(第六条第(二)项),请记录您的意见",
        "accountability case #{case} awaits the joint decision of the security office, HR "
        "and the competent department (6(2)): record your agreement",
    ),
    "approve": (
        "问责案件 #{case} 的共同决定已达成,待领导小组审批(第六条第(二)项)",
        "the joint decision on accountability case #{case} awaits the leading group's "
        "approval (6(2))",
    ),
    "disagreed": (
        "问责案件 #{case} 的提议未获共同决定各方一致同意,请重新提议",
        "a party did not agree to the proposal on accountability case #{case}: propose again",
    ),
    "refused": (
        "领导小组未批准问责案件 #{case} 的共同决定,请重新提议",
        "the leading group did not approve the joint decision on accountability case "
        "#{case}: propose again",
    ),
    "decided": (
        "对您的问责案件 #{case} 已作出决定,请登录查看",
        "a decision was made on your accountability case #{case}; sign in to read it",
    ),
    "execute": (
        "问责案件 #{case} 的决定待执行,执行后请记录",
        "the decision on accountability case #{case} is to be carried out: record it when done",
    ),
    "police": (
        "问责案件 #{case} 决定报警处理,请记录报警、执行和结案日期",
        "accountability case #{case} is referred to the police: record the dates reported, "
        "executed and closed",
    ),
    "close": (
        "问责案件 #{case} 可以结案",
        "accountability case #{case} can be closed",
    ),
    "perfunctory": (
        "问责案件 #{case} 以不处理或轻于认定档次的处理结案,"
        "已列入可能敷衍结案清单(第五条第四项末句)",
        "accountability case #{case} ended with no sanction or a milder one than its tier "
        "allows: listed as a possible perfunctory closure (5.4 closing sentence)",
    ),
}


def people(
    session: Session,
    case: Case,
    persons: Iterable[Person],
    *,
    now: datetime,
    step: str,
    actor: Actor | None = None,
    include_subject: bool = False,
) -> int:
    """Write a ``case`` notice about ``step`` to ``persons`` (not the actor, and not the
    subject unless ``include_subject``); returns how many people it went to."""
    skip = {actor.person_id} if actor is not None and actor.person_id is not None else set()
    if not include_subject:
        skip.add(case.subject_id)
    person_ids = sorted({p.id for p in persons if p.id not in skip})
    if not person_ids:
        return 0
    zh, en = TEXTS[step]
    notice = Notice(
        "case",
        detail=en.format(case=case.id),
        extra={
            "text_zh": zh.format(case=case.id),
            "text_en": en.format(case=case.id),
            "case_id": case.id,
            "case_step": step,
            "link_path": f"/accountability/cases/{case.id}",
        },
    )
    # The text carries no time, so the zone only matters to the payload's default.
    firing = Firing(session, now=now, default_tz=UTC)
    firing.notice(case.incident, notice, person_ids=person_ids)
    firing.finish(actor or system_actor())
    return len(person_ids)


def _role(session: Session, role: str, now: datetime) -> list[Person]:
    return [person for _pos, person in holders(session, role, now)]


def leading_group(
    session: Session, case: Case, *, now: datetime, step: str, actor: Actor | None = None
) -> int:
    """Every leading group member (6(1) decisions, 6(2) approvals, perfunctory closures)."""
    return people(
        session, case, _role(session, "leading_group_member", now), now=now, step=step, actor=actor
    )


def investigators(
    session: Session, case: Case, *, now: datetime, step: str, actor: Actor | None = None
) -> int:
    """The leading group's office, which runs the investigation; the members if none."""
    found = _role(session, "leading_group_office", now) or _role(
        session, "leading_group_member", now
    )
    return people(session, case, found, now=now, step=step, actor=actor)


def executors(
    session: Session, case: Case, *, now: datetime, step: str, actor: Actor | None = None
) -> int:
    """Who carries a decision out: the bureau Office, which imposes the handling (Art. 4
    由局办公室…给予当事人…处理), the leading group's office, and HR for disciplinary
    handling (6(2))."""
    found = _role(session, "office", now) + _role(session, "leading_group_office", now)
    if case.decider_clause == "6(2)":
        found += _role(session, "hr", now)
    return people(session, case, found, now=now, step=step, actor=actor)


def subject(
    session: Session, case: Case, *, now: datetime, step: str, actor: Actor | None = None
) -> int:
    """The subject, who has a right to know the decision on their case."""
    person = session.get(Person, case.subject_id)
    if person is None:
        return 0
    return people(session, case, [person], now=now, step=step, actor=actor, include_subject=True)
