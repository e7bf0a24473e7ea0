"""The organisation, read-only: departments, people, positions, systems, and who answers.

Everyone with a token may read the directory; managing it is the CLI's and the admin
pages' job. People are shown without their password hash or lockout counters.
"""

from __future__ import annotations

from datetime import UTC

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api import bp
from app.api.auth import api_user
from app.api.params import check_query, only_one_of, query_bool, query_datetime, query_int
from app.api.serialize import department, person, position, role_fields, system
from app.extensions import db, now
from incidents.errors import NotFound, ValidationError
from incidents.org import ROLES, Department, Person, Position, System
from incidents.responsibility import responsible_for, roles_of


@bp.get("/org/departments")
def list_departments() -> ResponseReturnValue:
    check_query(())
    rows = db().scalars(select(Department).order_by(Department.id))
    return jsonify({"items": [department(row) for row in rows]})


@bp.get("/org/departments/<int:department_id>")
def get_department(department_id: int) -> ResponseReturnValue:
    check_query(())
    row = db().get(Department, department_id)
    if row is None:
        raise NotFound(f"no department with id {department_id}", field="department_id")
    return jsonify(department(row))


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


@bp.get("/org/people")
def list_people() -> ResponseReturnValue:
    check_query(("active",))
    stmt = select(Person).order_by(Person.id)
    active = query_bool("active")
    if active is not None:
        stmt = stmt.where(Person.active.is_(active))
    rows = list(db().scalars(stmt))
    positions = _positions_by_person([row.id for row in rows])
    return jsonify(
        {"items": [person(row, positions[row.id], private=_private(row)) for row in rows]}
    )


def _private(row: Person) -> bool:
    """May the caller read this person's contact details and admin flag?"""
    me = api_user()
    return me.is_admin or me.person_id == row.id


@bp.get("/org/people/<int:person_id>")
def get_person(person_id: int) -> ResponseReturnValue:
    check_query(())
    row = db().get(Person, person_id)
    if row is None:
        raise NotFound(f"no person with id {person_id}", field="person_id")
    return jsonify(person(row, roles_of(db(), row.id, now()), private=_private(row)))


@bp.get("/org/positions")
def list_positions() -> ResponseReturnValue:
    """Positions with their history; ``at`` limits them to those held at that moment."""
    check_query(("at", "role", "department_id", "person_id"))
    stmt = select(Position).options(selectinload(Position.in_charge_of))
    role = request.args.get("role")
    if role:
        if role not in ROLES:
            raise ValidationError(f"unknown role; one of {', '.join(ROLES)}", field="role")
        stmt = stmt.where(Position.role == role)
    department_id = query_int("department_id")
    if department_id is not None:
        stmt = stmt.where(Position.department_id == department_id)
    person_id = query_int("person_id")
    if person_id is not None:
        stmt = stmt.where(Position.person_id == person_id)
    at = query_datetime("at")
    rows = db().scalars(stmt.order_by(Position.id))
    return jsonify({"items": [position(row) for row in rows if at is None or row.held_at(at)]})


@bp.get("/org/systems")
def list_systems() -> ResponseReturnValue:
    check_query(())
    stmt = select(System).options(selectinload(System.user_departments)).order_by(System.id)
    return jsonify({"items": [system(row) for row in db().scalars(stmt)]})


@bp.get("/org/systems/<int:system_id>")
def get_system(system_id: int) -> ResponseReturnValue:
    check_query(())
    row = db().get(System, system_id)
    if row is None:
        raise NotFound(f"no system with id {system_id}", field="system_id")
    return jsonify(system(row))


@bp.get("/org/responsible")
def get_responsible() -> ResponseReturnValue:
    """Who answers for a department or a system at ``at`` (default: now), Article 3."""
    check_query(("department_id", "system_id", "at"))
    which = only_one_of(("department_id", "system_id"))
    ident = query_int(which)
    at = (query_datetime("at") or now()).astimezone(UTC)
    session = db()
    system_id: int | None = None
    if which == "system_id":
        found = session.get(System, ident)
        if found is None:
            raise NotFound(f"no system with id {ident}", field="system_id")
        # 谁主管谁负责: the owner department's chain answers for the system.
        system_id, department_id = found.id, found.owner_department_id
        chain = responsible_for(session, at=at, system_id=system_id)
    else:
        assert ident is not None
        department_id = ident
        chain = responsible_for(session, at=at, department_id=department_id)
    return jsonify(
        {
            "at": at.isoformat(),
            "department_id": department_id,
            "system_id": system_id,
            "chain": [{**r.to_dict(), **role_fields(r.role)} for r in chain],
        }
    )
