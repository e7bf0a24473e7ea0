"""A case as every face shows it: plain JSON-able data, and the steps the viewer may take.

The API returns these dicts as they are and the web pages render them, so both say the
same thing: the facts with their sources, the determination with its clauses (and the
waived ones) in both languages, the sanctions the tier allows with who decides them
(Article 6), the proposal, the joint decision's agreements, the decision and what
followed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accountability.access import (
    APPROVERS,
    DECIDERS,
    EXECUTORS,
    INVESTIGATORS,
    PARTY_NAMES,
    parties_of,
    party_holders,
)
from accountability.clauses import DECIDER_TEXT, PERFUNCTORY_CLOSURE_TEXT, SANCTIONS
from accountability.facts import case_facts
from accountability.models import PARTIES, UNDECIDED_STATUSES, Agreement, Case
from accountability.subjects import BASES
from accountability.workflow import STATUS_NAMES
from incidents.org import Person
from incidents.permissions import Capabilities

#: Every step a viewer may be offered, in workflow order.
ACTIONS = (
    "findings",
    "determine",
    "propose",
    "decide",
    "agree",
    "approve",
    "execute",
    "police",
    "close",
    "waive",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _person(session: Session, person_id: int | None) -> dict[str, object] | None:
    if person_id is None:
        return None
    person = session.get(Person, person_id)
    if person is None:
        return {"id": person_id, "login": None, "name": None}
    return {"id": person.id, "login": person.login, "name": person.name}


def _sanction(code: str | None) -> dict[str, object] | None:
    if code is None:
        return None
    zh, en = SANCTIONS[code]
    return {"code": code, "zh": zh, "en": en}


def _decider(clause: str | None) -> dict[str, object] | None:
    if clause is None:
        return None
    zh, en = DECIDER_TEXT[clause]
    return {"clause": clause, "zh": zh, "en": en}


def _basis(kind: str) -> dict[str, object]:
    clause, zh, en = BASES.get(kind, ("", kind, kind))
    return {"kind": kind, "clause": clause, "zh": zh, "en": en}


def case_summary(session: Session, case: Case) -> dict[str, Any]:
    """The short form, for lists."""
    incident = case.incident
    zh, en = STATUS_NAMES[case.status]
    return {
        "id": case.id,
        "incident": {
            "id": incident.id,
            "number": incident.number,
            "title": incident.title,
            "grade": incident.grade,
            "status": incident.status,
        },
        "subject": {
            **(_person(session, case.subject_id) or {}),
            "role": case.subject_role,
            "clause": case.subject_clause,
            "basis": _basis(case.subject_basis),
            "department_id": case.subject_department_id,
        },
        "status": case.status,
        "status_name": {"zh": zh, "en": en},
        "version": case.version,
        "tier": case.tier,
        "uncovered": case.uncovered,
        "proposed_sanction": _sanction(case.proposed_sanction),
        "sanction": _sanction(case.sanction) if case.decided_at is not None else None,
        "perfunctory": case.perfunctory,
        "opened_at": _iso(case.opened_at),
        "updated_at": _iso(case.updated_at),
        "closed_at": _iso(case.closed_at),
    }


def case_detail(
    session: Session, case: Case, *, now: datetime, caps: Capabilities | None = None
) -> dict[str, Any]:
    """Everything about ``case``; ``actions`` lists what ``caps`` may do now (empty without
    ``caps``)."""
    data = case_summary(session, case)
    facts = case_facts(session, case, now=now)
    determination = case.determination
    det: dict[str, Any] | None = None
    if determination is not None:
        det = {
            "id": determination.id,
            "rule_version": determination.rule_version,
            "determined_at": _iso(determination.determined_at),
            "determined_by": _person(session, determination.determined_by_id),
            "facts": determination.facts,
            "sources": determination.sources,
            "assessment": determination.assessment,
        }
    data["facts"] = facts.to_dict()
    # The facts moved since the determination (or the record beneath an override did):
    # the case is flagged for a new determination; every earlier one is kept.
    changed = facts.changed_since(det["facts"], det["sources"]) if det is not None else []
    data["facts_changed"] = bool(changed)
    data["changed_facts"] = changed
    data["determination"] = det
    data["proposal"] = None
    if case.proposed_at is not None:
        data["proposal"] = {
            "round": case.round,
            "sanction": _sanction(case.proposed_sanction),
            "reason": case.proposal_reason,
            "by": _person(session, case.proposed_by_id),
            "at": _iso(case.proposed_at),
            "decider": _decider(case.decider_clause),
        }
    data["joint_decision"] = _joint(session, case, now) if case.decider_clause == "6(2)" else None
    data["decision"] = None
    if case.decided_at is not None:
        data["decision"] = {
            "sanction": _sanction(case.sanction),
            "reason": case.decision_reason,
            "by": _person(session, case.decided_by_id),
            "at": _iso(case.decided_at),
            "clause": case.decider_clause,
            "for_noncompliance": case.for_noncompliance,
        }
    data["execution"] = {
        "by": _person(session, case.executed_by_id),
        "at": _iso(case.executed_at),
    }
    data["referrals"] = {
        # 5.4: beside serious handling, where very serious (情况十分严重者应报警处理).
        "police": case.police_referral,
        # Art. 4: 构成违法犯罪的由司法机关依法追究刑事责任.
        "judicial": case.judicial_referral,
        "reason": case.referral_reason,
    }
    data["police"] = {
        "reported_on": case.police_reported_on.isoformat() if case.police_reported_on else None,
        "executed_on": case.police_executed_on.isoformat() if case.police_executed_on else None,
        "closed_on": case.police_closed_on.isoformat() if case.police_closed_on else None,
    }
    data["closure"] = {
        "by": _person(session, case.closed_by_id),
        "at": _iso(case.closed_at),
        "justification": case.justification,
        "waived_reason": case.waived_reason,
        "perfunctory": case.perfunctory,
    }
    zh, en = PERFUNCTORY_CLOSURE_TEXT
    data["perfunctory_rule"] = {"clause": "5.4", "zh": zh, "en": en}
    data["actions"] = actions_for(session, caps, case, now) if caps is not None else []
    return data


def _joint(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    answers = {
        a.party: a
        for a in session.scalars(
            select(Agreement).where(Agreement.case_id == case.id, Agreement.round == case.round)
        )
    }
    holders = party_holders(session, case, now)
    parties = []
    for party in PARTIES:
        zh, en = PARTY_NAMES[party]
        answer = answers.get(party)
        parties.append(
            {
                "party": party,
                "zh": zh,
                "en": en,
                "holders": [_person(session, p.id) for p in holders[party]],
                "answer": None
                if answer is None
                else {
                    "agreed": answer.agreed,
                    "by": _person(session, answer.person_id),
                    "note": answer.note,
                    "at": _iso(answer.at),
                },
            }
        )
    return {"round": case.round, "parties": parties}


def actions_for(session: Session, caps: Capabilities, case: Case, now: datetime) -> list[str]:
    """The steps ``caps`` may take on ``case`` now (the use cases check again)."""
    if caps.person_id == case.subject_id:
        return []
    roles = caps.roles
    status = case.status
    found: set[str] = set()
    if roles & INVESTIGATORS:
        if status in UNDECIDED_STATUSES:
            found |= {"findings", "determine", "waive"}
            if case.tier is not None and status != "open":
                found.add("propose")
        police = case.police_referral
        closable = status == "executed" or (status == "decided" and case.sanction is None)
        if closable and (not police or case.police_closed_on is not None):
            found.add("close")
        if police and status in ("decided", "executed") and case.police_closed_on is None:
            found.add("police")
    if roles & DECIDERS and status == "proposed":
        found.add("decide")
    if roles & APPROVERS and status == "approving":
        found.add("approve")
    if roles & EXECUTORS and status == "decided" and case.sanction is not None:
        found.add("execute")
    if status == "agreeing":
        answered = {
            a.party: a.person_id
            for a in session.scalars(
                select(Agreement).where(Agreement.case_id == case.id, Agreement.round == case.round)
            )
        }
        mine = [p for p in parties_of(session, case, caps.person_id, now) if p not in answered]
        if mine and caps.person_id not in answered.values():
            found.add("agree")
    return [action for action in ACTIONS if action in found]


def perfunctory_item(session: Session, case: Case) -> dict[str, Any]:
    """A possible perfunctory closure as the leading group's list shows it."""
    data = case_summary(session, case)
    data["justification"] = case.justification
    data["waived"] = case.status == "waived"
    data["closed_by"] = _person(session, case.closed_by_id)
    allowed = []
    determination = case.determination
    if determination is not None:
        allowed = [option["code"] for option in determination.assessment.get("sanctions", [])]
    data["allowed_sanctions"] = allowed
    return data
