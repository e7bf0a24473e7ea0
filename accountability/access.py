"""Who may read a case and who may take each step of it (Article 6), derived from positions.

- The investigation — opening cases, entering findings, determining, proposing, recording
  execution, closing or waiving — is the work of the leading group's office (领导小组办公室,
  which also interprets the rules, Art. 6) and of leading group members.
- 6(1): criticism and education, written self-criticism and circulated criticism (and a
  decision to impose nothing) are decided by a leading group member
  (``leading_group_member``).
- 6(2): general and serious handling (and a police referral, which is graver still) are
  decided jointly by three parties, each recording its agreement, then approved by a
  leading group member:

  - the security office of the leading group of the subject's department or of its
    superior department: a ``leading_group_office`` position in the subject's department
    or one of its ancestors; where the organisation has none there (a bureau with one
    leading group), the bureau's leading group office, i.e. every ``leading_group_office``
    holder;
  - HR: every ``hr`` holder;
  - the competent department (主管部门): the ``department_head`` of the subject
    department's ``competent_department``; where none is set or nobody heads it, the
    bureau office (``office``), which coordinates network security staffing (3(3)).

  The three agreements must come from three different people: a joint decision by one
  person is not joint.
- Nobody takes a step on a case of which they are the subject.

Parties are resolved at the moment they act (``at``), not at the incident's time: it is
today's office holders who decide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from accountability.models import PARTIES, Case
from incidents.errors import Forbidden
from incidents.org import Department, Person
from incidents.permissions import Capabilities, capabilities
from incidents.responsibility import holders

INVESTIGATORS: Final = frozenset({"leading_group_office", "leading_group_member"})
DECIDERS: Final = frozenset({"leading_group_member"})
APPROVERS: Final = DECIDERS
#: Who reads every case: the leading group, its office, and HR (a 6(2) party).
READERS: Final = frozenset({"leading_group_member", "leading_group_office", "hr"})
#: Who records that a decided sanction was carried out. Art. 4: 由局办公室…给予当事人…处理
#: — the bureau Office imposes the handling decided; HR carries out disciplinary handling
#: beside it; the investigators may record it for them.
EXECUTORS: Final = INVESTIGATORS | {"office", "hr"}

#: Party -> (zh, en) for the faces.
PARTY_NAMES: Final[dict[str, tuple[str, str]]] = {
    "security_office": ("安全办公室", "security office"),
    "hr": ("人事", "HR"),
    "competent_department": ("主管部门", "competent department"),
}


def caps_of(session: Session, person_id: int | None, at: datetime) -> Capabilities:
    """The capabilities of the acting person; ``Forbidden`` for a system actor or nobody."""
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None or not person.active:
        raise Forbidden(
            "accountability steps are taken by people, not by the system",
            code="accountability_steps_taken_people",
        )
    return capabilities(session, person, at)


def require_role(caps: Capabilities, roles: frozenset[str], what: str) -> None:
    if not caps.roles & roles:
        names = ", ".join(sorted(roles))
        raise Forbidden(
            "only %(names)s may %(what)s", code="only_may", params={"names": names, "what": what}
        )


def require_not_subject(caps: Capabilities, case: Case) -> None:
    """Nobody judges their own case."""
    if caps.person_id == case.subject_id:
        raise Forbidden("the subject of a case takes no step in it", code="subject_case_takes_no")


def party_holders(session: Session, case: Case, at: datetime) -> dict[str, list[Person]]:
    """The people who may speak for each 6(2) party on ``case`` at ``at``."""
    return {
        "security_office": _security_office(session, case.subject_department_id, at),
        "hr": [person for _pos, person in holders(session, "hr", at)],
        "competent_department": _competent(session, case.subject_department_id, at),
    }


def parties_of(session: Session, case: Case, person_id: int, at: datetime) -> list[str]:
    """The 6(2) parties ``person_id`` may speak for on ``case``, in ``PARTIES`` order."""
    found = party_holders(session, case, at)
    return [party for party in PARTIES if any(p.id == person_id for p in found[party])]


def can_view(session: Session, caps: Capabilities, case: Case, at: datetime) -> bool:
    """Readers see every case; the subject sees their own; a 6(2) party sees the case."""
    if caps.roles & READERS or caps.person_id == case.subject_id:
        return True
    return bool(parties_of(session, case, caps.person_id, at))


def require_view(session: Session, caps: Capabilities, case: Case, at: datetime) -> None:
    if not can_view(session, caps, case, at):
        raise Forbidden("you may not see this accountability case", code="you_may_not_see")


def _ancestry(session: Session, department_id: int | None) -> list[Department]:
    chain: list[Department] = []
    dept = session.get(Department, department_id) if department_id is not None else None
    while dept is not None and dept not in chain:
        chain.append(dept)
        dept = dept.parent
    return chain


def _security_office(session: Session, department_id: int | None, at: datetime) -> list[Person]:
    # The nearest security office up the subject's department tree; else the bureau's.
    for dept in _ancestry(session, department_id):
        found = holders(session, "leading_group_office", at, department_id=dept.id)
        if found:
            return [person for _pos, person in found]
    return [person for _pos, person in holders(session, "leading_group_office", at)]


def _competent(session: Session, department_id: int | None, at: datetime) -> list[Person]:
    dept = session.get(Department, department_id) if department_id is not None else None
    if dept is not None and dept.competent_department_id is not None:
        heads = holders(session, "department_head", at, department_id=dept.competent_department_id)
        if heads:
            return [person for _pos, person in heads]
    return [person for _pos, person in holders(session, "office", at)]


__all__ = [
    "APPROVERS",
    "DECIDERS",
    "EXECUTORS",
    "INVESTIGATORS",
    "PARTIES",
    "PARTY_NAMES",
    "READERS",
    "can_view",
    "caps_of",
    "parties_of",
    "party_holders",
    "require_not_subject",
    "require_role",
    "require_view",
]
