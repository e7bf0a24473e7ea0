"""The organisation, read-only: departments, people, positions, systems, and who answers.

Everyone with a token may read the directory; managing it is the CLI's and the admin
pages' job. People are shown without their password hash or lockout counters.
"""

from __future__ import annotations

from datetime import UTC

from flask.typing import ResponseReturnValue
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api.auth import api_user
from app.api.contract import DateTimeIn, Id, Query, endpoint
from app.api.serialize import department, person, position, role_fields, system
from app.api.shapes import (
    Department,
    DepartmentList,
    PersonList,
    PositionList,
    ResponsibleChain,
    Role,
    System,
    SystemList,
)
from app.api.shapes import Person as PersonOut
from app.extensions import db, now
from incidents.errors import NotFound, ValidationError
from incidents.org import Department as DepartmentRow
from incidents.org import Person, Position
from incidents.org import System as SystemRow
from incidents.responsibility import responsible_for, roles_of

AT_TEXT = "the moment asked about (default: now)"


class PeopleQuery(Query):
    active: bool | None = Field(None, description="only active (or inactive) people")


class PositionQuery(Query):
    at: DateTimeIn | None = Field(None, description="only positions held at this moment")
    role: Role | None = Field(None, description="only this role")
    department_id: Id | None = Field(None, description="only in this department")
    person_id: Id | None = Field(None, description="only this person")


class ResponsibleQuery(Query):
    department_id: Id | None = Field(None, description="the department (give this or system_id)")
    system_id: Id | None = Field(None, description="the system; its owner department answers")
    at: DateTimeIn | None = Field(None, description=AT_TEXT)


@endpoint(
    "get",
    "/org/departments",
    operation_id="listDepartments",
    summary="Departments (a tree by parent_id)",
    tag="organisation",
    response=DepartmentList,
)
def list_departments() -> ResponseReturnValue:
    rows = db().scalars(select(DepartmentRow).order_by(DepartmentRow.id))
    return {"items": [department(row) for row in rows]}


@endpoint(
    "get",
    "/org/departments/<int:department_id>",
    operation_id="getDepartment",
    summary="One department",
    tag="organisation",
    response=Department,
    errors=(401, 404),
)
def get_department(department_id: int) -> ResponseReturnValue:
    row = db().get(DepartmentRow, department_id)
    if row is None:
        raise NotFound(
            "no department with id %(id)s",
            field="department_id",
            code="department.not_found",
            params={"id": department_id},
        )
    return department(row)


def _positions_by_person(at_people: list[int]) -> dict[int, list[Position]]:
    at = now()
    found: dict[int, list[Position]] = {pid: [] for pid in at_people}
    stmt = (
        select(Position)
        .where(Position.person_id.in_(at_people))
        .options(selectinload(Position.in_charge_of))
        .order_by(Position.valid_from, Position.id)
    )
    for row in db().scalars(stmt):
        if row.held_at(at):
            found[row.person_id].append(row)
    return found


@endpoint(
    "get",
    "/org/people",
    operation_id="listPeople",
    summary="People with the positions they hold now",
    tag="organisation",
    response=PersonList,
    query=PeopleQuery,
)
def list_people(query: PeopleQuery) -> ResponseReturnValue:
    stmt = select(Person).order_by(Person.id)
    if query.active is not None:
        stmt = stmt.where(Person.active.is_(query.active))
    rows = list(db().scalars(stmt))
    positions = _positions_by_person([row.id for row in rows])
    return {"items": [person(row, positions[row.id], private=_private(row)) for row in rows]}


def _private(row: Person) -> bool:
    """May the caller read this person's contact details and admin flag?"""
    me = api_user()
    return me.is_admin or me.person_id == row.id


@endpoint(
    "get",
    "/org/people/<int:person_id>",
    operation_id="getPerson",
    summary="One person",
    tag="organisation",
    response=PersonOut,
    errors=(401, 404),
)
def get_person(person_id: int) -> ResponseReturnValue:
    row = db().get(Person, person_id)
    if row is None:
        raise NotFound(
            "no person with id %(id)s",
            field="person_id",
            code="person.not_found",
            params={"id": person_id},
        )
    return person(row, roles_of(db(), row.id, now()), private=_private(row))


@endpoint(
    "get",
    "/org/positions",
    operation_id="listPositions",
    summary="Positions with their history",
    tag="organisation",
    response=PositionList,
    query=PositionQuery,
)
def list_positions(query: PositionQuery) -> ResponseReturnValue:
    """Positions with their history; ``at`` limits them to those held at that moment."""
    stmt = select(Position).options(selectinload(Position.in_charge_of))
    if query.role is not None:
        stmt = stmt.where(Position.role == query.role)
    if query.department_id is not None:
        stmt = stmt.where(Position.department_id == query.department_id)
    if query.person_id is not None:
        stmt = stmt.where(Position.person_id == query.person_id)
    at = query.at
    rows = db().scalars(stmt.order_by(Position.id))
    return {"items": [position(row) for row in rows if at is None or row.held_at(at)]}


@endpoint(
    "get",
    "/org/systems",
    operation_id="listSystems",
    summary="Information systems",
    tag="organisation",
    response=SystemList,
)
def list_systems() -> ResponseReturnValue:
    stmt = select(SystemRow).options(selectinload(SystemRow.user_departments))
    return {"items": [system(row) for row in db().scalars(stmt.order_by(SystemRow.id))]}


@endpoint(
    "get",
    "/org/systems/<int:system_id>",
    operation_id="getSystem",
    summary="One information system",
    tag="organisation",
    response=System,
    errors=(401, 404),
)
def get_system(system_id: int) -> ResponseReturnValue:
    row = db().get(SystemRow, system_id)
    if row is None:
        raise NotFound(
            "no system with id %(id)s",
            field="system_id",
            code="system.not_found",
            params={"id": system_id},
        )
    return system(row)


@endpoint(
    "get",
    "/org/responsible",
    operation_id="getResponsible",
    summary="Who answers for a department or a system (Article 3)",
    tag="organisation",
    response=ResponsibleChain,
    query=ResponsibleQuery,
    errors=(401, 404),
    description="Department head 3(3), deputy director in charge 3(2), deputy director for "
    "network security 3(2), director 3(1), as held at `at`. Give exactly one of "
    "`department_id` and `system_id`.",
)
def get_responsible(query: ResponsibleQuery) -> ResponseReturnValue:
    """Who answers for a department or a system at ``at`` (default: now), Article 3."""
    given = [name for name in ("department_id", "system_id") if getattr(query, name)]
    if len(given) != 1:
        raise ValidationError(
            "give exactly one of %(names)s",
            field=given[1] if len(given) > 1 else "department_id or system_id",
            code="one_of_parameters",
            params={"names": "department_id or system_id"},
        )
    at = (query.at or now()).astimezone(UTC)
    session = db()
    system_id: int | None = None
    if query.system_id is not None:
        found = session.get(SystemRow, query.system_id)
        if found is None:
            raise NotFound(
                "no system with id %(id)s",
                field="system_id",
                code="system.not_found",
                params={"id": query.system_id},
            )
        # 谁主管谁负责: the owner department's chain answers for the system.
        system_id, department_id = found.id, found.owner_department_id
        chain = responsible_for(session, at=at, system_id=system_id)
    else:
        assert query.department_id is not None
        department_id = query.department_id
        chain = responsible_for(session, at=at, department_id=department_id)
    return {
        "at": at.isoformat(),
        "department_id": department_id,
        "system_id": system_id,
        "chain": [{**r.to_dict(), **role_fields(r.role)} for r in chain],
    }
