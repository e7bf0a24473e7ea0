"""Who answers for an incident (Article 3), as the organisation stood when it was detected.

The candidates, in this order, each with the clause or principle that names them:

- 3(4) the staff member whose breach of work rules caused it, once identified
  (``Incident.caused_by_id``): full personal responsibility (由其本人负全部责任);
- the head of the responsible department (谁主管谁负责);
- for every affected system (``incidents.responsibility.system_parties``): the head of
  its owner department (谁主管谁负责), of its operator department and its named operator
  (谁运维谁负责), and of each of its user departments (谁使用谁负责) — document 3's
  principle, which the bureau applies to every system;
- 3(2) the deputy director in charge of (分管) each of those departments;
- 3(2) the deputy director in charge of network security (direct responsibility);
- 3(1) the director (overall leadership responsibility);
- 3(3) the command center, for how the incident was handled (its head answers);
- 5.4 closing sentence: whoever closed or waived another case on the incident in a way
  listed as a possible perfunctory closure (敷衍结案) — the 追究主体 is held to account
  too (``5.4(closing)``, circulated criticism).

A person appears once, under the first reason that names them; their other reasons are
kept in ``also``. Where a staff member's breach caused the incident, 3(4) puts the whole
of the breach on them: every other subject then carries a ``standing`` saying that they
answer only for their own duty (the one their basis names), not for that breach — so
that the leaders are not all listed on the same facts. The investigator chooses whom to
assess: a case is opened per chosen subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.errors import NotFound
from incidents.models import Incident
from incidents.org import Department, Person, Position, System
from incidents.responsibility import (
    deputies_in_charge,
    holders,
    responsible_for,
    roles_of,
    system_parties,
)

#: Why a person answers: kind -> (clause, zh, en).
BASES: Final[dict[str, tuple[str, str, str]]] = {
    "caused_by": (
        "3(4)",
        "违反工作制度导致事件发生的工作人员,负全部责任",
        "the staff member whose breach of work rules caused it: full responsibility",
    ),
    "department_head": (
        "3(3)",
        "事件责任部门负责人(谁主管谁负责)",
        "head of the responsible department (whoever is in charge is responsible)",
    ),
    "command_center_department": (
        "3(3)",
        "指挥中心主任(事件发生在指挥中心)",
        "head of the command center, where the incident occurred",
    ),
    "deputy_in_charge": (
        "3(2)",
        "分管该部门的副局长,负领导责任",
        "the deputy director in charge of the department: leadership responsibility",
    ),
    "deputy_netsec": (
        "3(2)",
        "分管网络安全和信息化工作的副局长,负直接责任",
        "the deputy director in charge of network security: direct responsibility",
    ),
    "director": (
        "3(1)",
        "局长,负总领导责任",
        "the director: overall leadership responsibility",
    ),
    "command_center": (
        "3(3)",
        "指挥中心,负责事件处置和整改",
        "the command center, which handles incidents and their rectification",
    ),
    "system_owner": (
        "谁主管谁负责",
        "受影响系统的主管部门负责人(谁主管谁负责)",
        "head of an affected system's owner department (whoever is in charge is responsible)",
    ),
    "system_operator": (
        "谁运维谁负责",
        "受影响系统的运维部门负责人(谁运维谁负责)",
        "head of an affected system's operator department (whoever operates it is responsible)",
    ),
    "system_operator_person": (
        "谁运维谁负责",
        "受影响系统的运维责任人(谁运维谁负责)",
        "the named operator of an affected system (whoever operates it is responsible)",
    ),
    "pursuer": (
        "5.4",
        "应追究责任而敷衍结案、弄虚作假的责任追究主体",
        "the one who pursued accountability and closed a case perfunctorily or falsified it",
    ),
    "system_user": (
        "谁使用谁负责",
        "受影响系统的使用部门负责人(谁使用谁负责)",
        "head of a user department of an affected system (whoever uses it is responsible)",
    ),
}

#: 3(4) beside a leader's basis: the breach is the staff member's; what the leader
#: answers for instead, by kind, (zh, en).
_OWN_DUTY: Final[dict[str, tuple[str, str]]] = {
    "department_head": ("本部门落实制度、管理本部门人员", "the department's own rules and staff"),
    "command_center_department": ("指挥中心落实制度", "the command center's own rules"),
    "deputy_in_charge": ("分管领域的领导责任", "leadership of the departments in charge"),
    "deputy_netsec": ("网络安全工作的直接领导责任", "direct leadership of network security"),
    "director": ("网络安全工作的总领导责任", "overall leadership of network security"),
    "command_center": ("事件处置和整改", "the handling and rectification of the incident"),
    "system_owner": ("系统的主管责任", "the system's ownership"),
    "system_operator": ("系统的运维责任", "the system's operation"),
    "system_operator_person": ("系统的运维责任", "the system's operation"),
    "system_user": ("本部门对系统的使用", "the department's use of the system"),
}
STAFF_BREACH_TEXT: Final[tuple[str, str]] = (
    "局全体干部职工在日常工作期间,因不遵守相关工作规定,造成网络安全事故的,由其本人负全部责任",
    "any cadre or staff member whose breach of work rules during daily work causes a "
    "network security incident bears full personal responsibility",
)


@dataclass(frozen=True)
class Basis:
    """One reason a person answers: their role, and the kind of reason (``BASES``)."""

    kind: str
    role: str
    department_id: int | None
    #: The affected system behind a 谁主管/谁运维/谁使用 basis.
    system_id: int | None = None
    system_name: str = ""

    @property
    def clause(self) -> str:
        return BASES[self.kind][0]

    @property
    def text(self) -> tuple[str, str]:
        zh, en = BASES[self.kind][1], BASES[self.kind][2]
        if self.system_name:
            return f"{zh}:{self.system_name}", f"{en}: {self.system_name}"
        return zh, en

    def to_dict(self) -> dict[str, object]:
        zh, en = self.text
        return {
            "kind": self.kind,
            "role": self.role,
            "clause": self.clause,
            "department_id": self.department_id,
            "system_id": self.system_id,
            "zh": zh,
            "en": en,
        }


@dataclass(frozen=True)
class Subject:
    """A person who may be held to account for the incident, and why."""

    person_id: int
    login: str
    name: str
    basis: Basis
    also: tuple[Basis, ...] = field(default_factory=tuple)
    #: Why this person is (or is not) a subject beside a 3(4) staff breach, (zh, en);
    #: empty when no staff member's breach is on record.
    standing: tuple[str, str] = ("", "")

    @property
    def role(self) -> str:
        return self.basis.role

    @property
    def clause(self) -> str:
        return self.basis.clause

    @property
    def department_id(self) -> int | None:
        return self.basis.department_id

    def to_dict(self) -> dict[str, object]:
        return {
            "person_id": self.person_id,
            "login": self.login,
            "name": self.name,
            "role": self.role,
            "clause": self.clause,
            "department_id": self.department_id,
            "basis": self.basis.to_dict(),
            "also": [b.to_dict() for b in self.also],
            "standing": {"zh": self.standing[0], "en": self.standing[1]}
            if self.standing[1]
            else None,
        }


def subjects_of(session: Session, incident: Incident) -> list[Subject]:
    """The people who answer for ``incident`` under Article 3, at its detection time."""
    at = incident.detected_at
    found: list[tuple[Person, Basis]] = []

    if incident.caused_by_id is not None:
        person = session.get(Person, incident.caused_by_id)
        if person is not None:
            found.append((person, _staff_basis(session, person, at)))

    departments: list[int] = []
    department_id = incident.responsible_department_id
    if department_id is not None:
        departments.append(department_id)
        for item in responsible_for(session, at=at, department_id=department_id):
            if item.role in ("department_head", "command_center_head"):
                person = session.get(Person, item.person_id)
                if person is not None:
                    kind = _chain_kind(item.role, False)
                    found.append((person, Basis(kind, item.role, item.department_id)))
    for system in sorted(incident.systems, key=lambda s: s.id):
        found.extend(_system_parties(session, system, at, departments))
    # 3(2): the deputy director in charge of each department named above.
    for dept in departments:
        for pos, person in deputies_in_charge(session, dept, at):
            found.append((person, Basis("deputy_in_charge", pos.role, dept)))
    # The bureau-wide posts answer whatever the department (and when none is set yet);
    # named again so that a person the chain above holds for another reason keeps this one.
    for role, kind in (("deputy_director_netsec", "deputy_netsec"), ("director", "director")):
        for pos, person in holders(session, role, at):
            found.append((person, Basis(kind, role, pos.department_id)))
    for pos, person in holders(session, "command_center_head", at):
        found.append((person, Basis("command_center", "command_center_head", pos.department_id)))
    found.extend(_pursuers(session, incident))
    return _merge(found, staff_breach=incident.caused_by_id)


def _pursuers(session: Session, incident: Incident) -> list[tuple[Person, Basis]]:
    """5.4 closing sentence: who closed or waived a case on ``incident`` that is listed
    as a possible perfunctory closure."""
    from accountability.models import Case

    rows = session.scalars(
        select(Case)
        .where(
            Case.incident_id == incident.id,
            Case.perfunctory.is_(True),
            Case.closed_by_id.is_not(None),
        )
        .order_by(Case.id)
    ).all()
    found = []
    for case in rows:
        person = session.get(Person, case.closed_by_id)
        if person is not None:
            role = next(
                (
                    p.role
                    for p in roles_of(session, person.id, case.closed_at or incident.detected_at)
                ),
                "staff",
            )
            found.append((person, Basis("pursuer", role, None)))
    return found


def _system_parties(
    session: Session, system: System, at: datetime, departments: list[int]
) -> list[tuple[Person, Basis]]:
    """谁主管谁负责,谁运维谁负责,谁使用谁负责: the heads of the system's owner, operator
    and user departments, and its named operator. Appends each department to
    ``departments`` (for its deputy director in charge)."""
    parties = system_parties(session, system.id)
    found: list[tuple[Person, Basis]] = []
    for part, kind in (
        ("owner", "system_owner"),
        ("operator", "system_operator"),
        ("users", "system_user"),
    ):
        for dept in parties[part]:
            if dept not in departments:
                departments.append(dept)
            for pos, person in _heads(session, dept, at):
                found.append((person, Basis(kind, pos.role, dept, system.id, system.name)))
        if part == "operator" and system.operator_person is not None:
            person = system.operator_person
            positions = roles_of(session, person.id, at)
            role = positions[0].role if positions else "staff"
            dept_id = system.operator_department_id
            found.append(
                (
                    person,
                    Basis("system_operator_person", role, dept_id, system.id, system.name),
                )
            )
    return found


def _heads(session: Session, department_id: int, at: datetime) -> list[tuple[Position, Person]]:
    """Who heads ``department_id`` at ``at``: its department head, or the command
    center's head for the command center."""
    if session.get(Department, department_id) is None:
        return []
    return holders(session, "department_head", at, department_id=department_id) + holders(
        session, "command_center_head", at, department_id=department_id
    )


def subject_of(session: Session, incident: Incident, person_id: int) -> Subject:
    """The subject ``person_id`` of ``incident``; ``NotFound`` if Article 3 does not name them."""
    for subject in subjects_of(session, incident):
        if subject.person_id == person_id:
            return subject
    raise NotFound(
        "person %(person_id)s is not among those who answer for incident %(number)s under "
        "Article 3",
        field="person_id",
        code="person_id.person_not_among_those",
        params={"person_id": person_id, "number": incident.number},
    )


def _chain_kind(role: str, in_charge: bool) -> str:
    """The kind of reason behind an entry of ``responsible_for``'s chain."""
    if role == "department_head":
        return "department_head"
    if role == "command_center_head":
        return "command_center_department"
    if in_charge:
        return "deputy_in_charge"
    return "deputy_netsec" if role == "deputy_director_netsec" else "director"


def _staff_basis(session: Session, person: Person, at: datetime) -> Basis:
    positions = roles_of(session, person.id, at)
    department_id = next((p.department_id for p in positions if p.department_id), None)
    role = positions[0].role if positions else "staff"
    return Basis("caused_by", role, department_id)


def _standing(bases: list[Basis], staff_breach: int | None, person_id: int) -> tuple[str, str]:
    """3(4) beside the other subjects: the breach is the staff member's alone; a leader
    answers for their own duty only, and only if the investigation finds it failed."""
    if staff_breach is None:
        return ("", "")
    if person_id == staff_breach:
        return (
            "违反工作规定造成事故,由其本人负全部责任(3(4))",
            "breached the work rules and caused the incident: full personal responsibility (3(4))",
        )
    duties = [_OWN_DUTY[b.kind] for b in bases if b.kind in _OWN_DUTY]
    zh = "、".join(dict.fromkeys(d[0] for d in duties))
    en = "; ".join(dict.fromkeys(d[1] for d in duties))
    return (
        f"工作人员违反工作规定造成的事故由其本人负全部责任(3(4)):本人不因该违规担责,"
        f"仅就自身职责({zh})是否落实接受调查",
        "the staff member who breached the work rules bears full responsibility for the "
        f"breach (3(4)): this person answers not for it, only for their own duty ({en}), "
        "if the investigation finds that failed",
    )


def _merge(found: list[tuple[Person, Basis]], *, staff_breach: int | None) -> list[Subject]:
    order: list[int] = []
    people: dict[int, Person] = {}
    bases: dict[int, list[Basis]] = {}
    for person, basis in found:
        if person.id not in bases:
            order.append(person.id)
            people[person.id] = person
            bases[person.id] = []
        if all(b.kind != basis.kind for b in bases[person.id]):
            bases[person.id].append(basis)
    subjects = []
    for person_id in order:
        first, *rest = bases[person_id]
        person = people[person_id]
        subjects.append(
            Subject(
                person_id=person.id,
                login=person.login,
                name=person.name,
                basis=first,
                also=tuple(rest),
                standing=_standing(bases[person_id], staff_breach, person_id),
            )
        )
    return subjects
