"""Who answers for a department or a system at a given moment (Article 3).

``responsible_for`` walks the chain the rules set out, from the nearest to the highest:
the department head (the department answers for its own work, 3(3), "谁主管谁负责"),
the deputy director in charge of that department (3(2), 分管), the deputy director in
charge of network security (3(2), direct responsibility) and the director (3(1),
overall responsibility). Positions carry history, so the answer is the one that held at
``at`` — the time of the incident, not of the question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from incidents.errors import NotFound
from incidents.org import Department, Person, Position, System, position_charges


@dataclass(frozen=True)
class Responsible:
    person_id: int
    login: str
    name: str
    role: str
    clause: str
    department_id: int | None
    basis: str  # why this person is in the chain, in a phrase

    def to_dict(self) -> dict[str, object]:
        return {
            "person_id": self.person_id,
            "login": self.login,
            "name": self.name,
            "role": self.role,
            "clause": self.clause,
            "department_id": self.department_id,
            "basis": self.basis,
        }


def _held_at(at: datetime):  # type: ignore[no-untyped-def]
    return (Position.valid_from <= at) & or_(
        Position.valid_until.is_(None), Position.valid_until > at
    )


def holders(
    session: Session, role: str, at: datetime, *, department_id: int | None = None
) -> list[tuple[Position, Person]]:
    """Active people holding ``role`` at ``at`` (optionally in one department)."""
    stmt = (
        select(Position, Person)
        .join(Person, Person.id == Position.person_id)
        .where(Position.role == role, _held_at(at), Person.active.is_(True))
        .order_by(Position.valid_from, Person.id)
    )
    if department_id is not None:
        stmt = stmt.where(Position.department_id == department_id)
    return [(pos, person) for pos, person in session.execute(stmt).all()]


def deputies_in_charge(
    session: Session, department_id: int, at: datetime
) -> list[tuple[Position, Person]]:
    """Deputy directors in charge of (分管) ``department_id`` or one of its ancestors."""
    chain: list[int] = []
    dept = session.get(Department, department_id)
    while dept is not None and dept.id not in chain:
        chain.append(dept.id)
        dept = dept.parent
    stmt = (
        select(Position, Person, position_charges.c.department_id)
        .join(Person, Person.id == Position.person_id)
        .join(position_charges, position_charges.c.position_id == Position.id)
        .where(
            Position.role.in_(("deputy_director", "deputy_director_netsec")),
            position_charges.c.department_id.in_(chain),
            _held_at(at),
            Person.active.is_(True),
        )
    )
    # The nearest charge comes first: a deputy in charge of the department itself before
    # one in charge of a department above it.
    rows = sorted(session.execute(stmt).all(), key=lambda r: (chain.index(r[2]), r[1].id))
    found: list[tuple[Position, Person]] = []
    seen: set[int] = set()
    for pos, person, _charged in rows:
        if person.id not in seen:
            seen.add(person.id)
            found.append((pos, person))
    return found


def responsible_for(
    session: Session,
    *,
    at: datetime,
    department_id: int | None = None,
    system_id: int | None = None,
) -> list[Responsible]:
    """The chain of people who answer for a department or a system at ``at``.

    For a system, the owner department (主管) is the one whose chain answers; the
    operator and user departments answer for their own part of the work and are
    named by :func:`system_parties`.
    """
    if (department_id is None) == (system_id is None):
        raise ValueError("give exactly one of department_id and system_id")
    if system_id is not None:
        system = session.get(System, system_id)
        if system is None:
            raise NotFound(
                "no system with id %(id)s",
                field="system_id",
                code="system_id.no_system_id",
                params={"id": system_id},
            )
        department_id = system.owner_department_id
    assert department_id is not None
    if session.get(Department, department_id) is None:
        raise NotFound(
            "no department with id %(id)s",
            field="department_id",
            code="department_id.no_department_id",
            params={"id": department_id},
        )

    chain: list[Responsible] = []
    seen: set[int] = set()

    def add(pos: Position, person: Person, clause: str, basis: str) -> None:
        if person.id in seen:
            return
        seen.add(person.id)
        chain.append(
            Responsible(
                person_id=person.id,
                login=person.login,
                name=person.name,
                role=pos.role,
                clause=clause,
                department_id=pos.department_id,
                basis=basis,
            )
        )

    for pos, person in holders(session, "department_head", at, department_id=department_id):
        add(pos, person, "3(3)", "department head (谁主管谁负责)")
    for pos, person in holders(session, "command_center_head", at, department_id=department_id):
        add(pos, person, "3(3)", "head of the command center (handles incidents)")
    for pos, person in deputies_in_charge(session, department_id, at):
        add(pos, person, "3(2)", "deputy director in charge of the department (分管)")
    for pos, person in holders(session, "deputy_director_netsec", at):
        add(pos, person, "3(2)", "deputy director in charge of network security (直接责任)")
    for pos, person in holders(session, "director", at):
        add(pos, person, "3(1)", "director (总领导责任)")
    return chain


def system_parties(session: Session, system_id: int) -> dict[str, list[int]]:
    """Department ids behind a system: owner (主管), operator (运维), users (使用)."""
    system = session.get(System, system_id)
    if system is None:
        raise NotFound(
            "no system with id %(id)s",
            field="system_id",
            code="system_id.no_system_id",
            params={"id": system_id},
        )
    return {
        "owner": [system.owner_department_id],
        "operator": [system.operator_department_id] if system.operator_department_id else [],
        "users": [d.id for d in system.user_departments],
    }


def roles_of(session: Session, person_id: int, at: datetime) -> list[Position]:
    """Positions ``person_id`` holds at ``at``."""
    stmt = select(Position).where(Position.person_id == person_id, _held_at(at))
    return list(session.scalars(stmt))
