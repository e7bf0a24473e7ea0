"""Who answers for an incident (Article 3), as the organisation stood when it was detected.

The candidates, in the order the issue lists them:

- 3(4) the staff member whose breach of work rules caused it, once identified
  (``Incident.caused_by_id``): full personal responsibility;
- the head of the responsible department (谁主管谁负责);
- 3(2) the deputy director in charge of (分管) that department;
- 3(2) the deputy director in charge of network security (direct responsibility);
- 3(1) the director (overall leadership responsibility);
- 3(3) the command center, for how the incident was handled (its head answers).

The department chain comes from ``incidents.responsibility.responsible_for``; the
bureau-wide posts from ``holders``. A person appears once, under the first reason that
names them; their other reasons are kept in ``also``. The investigator chooses whom to
assess: a case is opened per chosen subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from incidents.errors import NotFound
from incidents.models import Incident
from incidents.org import Person
from incidents.responsibility import deputies_in_charge, holders, responsible_for, roles_of

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
}


@dataclass(frozen=True)
class Basis:
    """One reason a person answers: their role, and the kind of reason (``BASES``)."""

    kind: str
    role: str
    department_id: int | None

    @property
    def clause(self) -> str:
        return BASES[self.kind][0]

    @property
    def text(self) -> tuple[str, str]:
        return BASES[self.kind][1], BASES[self.kind][2]

    def to_dict(self) -> dict[str, object]:
        zh, en = self.text
        return {
            "kind": self.kind,
            "role": self.role,
            "clause": self.clause,
            "department_id": self.department_id,
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
        }


def subjects_of(session: Session, incident: Incident) -> list[Subject]:
    """The people who answer for ``incident`` under Article 3, at its detection time."""
    at = incident.detected_at
    found: list[tuple[Person, Basis]] = []

    if incident.caused_by_id is not None:
        person = session.get(Person, incident.caused_by_id)
        if person is not None:
            found.append((person, _staff_basis(session, person, at)))

    department_id = incident.responsible_department_id
    if department_id is not None:
        in_charge = {person.id for _pos, person in deputies_in_charge(session, department_id, at)}
        for item in responsible_for(session, at=at, department_id=department_id):
            person = session.get(Person, item.person_id)
            if person is None:
                continue
            kind = _chain_kind(item.role, person.id in in_charge)
            found.append((person, Basis(kind, item.role, item.department_id)))
    # The bureau-wide posts answer whatever the department (and when none is set yet);
    # named again so that a person the chain above holds for another reason keeps this one.
    for role, kind in (("deputy_director_netsec", "deputy_netsec"), ("director", "director")):
        for pos, person in holders(session, role, at):
            found.append((person, Basis(kind, role, pos.department_id)))
    for pos, person in holders(session, "command_center_head", at):
        found.append((person, Basis("command_center", "command_center_head", pos.department_id)))
    return _merge(found)


def subject_of(session: Session, incident: Incident, person_id: int) -> Subject:
    """The subject ``person_id`` of ``incident``; ``NotFound`` if Article 3 does not name them."""
    for subject in subjects_of(session, incident):
        if subject.person_id == person_id:
            return subject
    raise NotFound(
        f"person {person_id} is not among those who answer for incident "
        f"{incident.number} under Article 3",
        field="person_id",
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


def _merge(found: list[tuple[Person, Basis]]) -> list[Subject]:
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
            )
        )
    return subjects
