"""The organisation as the rules see it: departments, people, positions, systems.

Read-only pages (the organisation is kept with ``fenghuo org import``). Each department
and system page shows who answers for it now, with the clause of Article 3 behind each
person, and a system shows its three parties: owner (主管), operator (运维) and users
(使用).
"""

from __future__ import annotations

from flask import render_template
from flask_login import login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db, now
from app.web import bp
from app.web.viewer import user
from incidents.errors import NotFound
from incidents.org import Department, Person, Position, System, system_users
from incidents.responsibility import responsible_for


def _current(position: Position) -> bool:
    return position.held_at(now())


@bp.get("/org")
@login_required
def departments() -> str:
    session = db()
    depts = list(session.scalars(select(Department).order_by(Department.id)))
    children: dict[int | None, list[Department]] = {}
    for dept in depts:
        children.setdefault(dept.parent_id, []).append(dept)
    # Depth-first, so the tree reads top-down with indentation by depth.
    ordered: list[tuple[Department, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for child in children.get(parent, []):
            ordered.append((child, depth))
            walk(child.id, depth + 1)

    walk(None, 0)
    known = {d.id for d, _depth in ordered}
    ordered.extend((d, 0) for d in depts if d.id not in known)  # a cycle never hides one
    heads: dict[int, list[Person]] = {}
    positions = session.scalars(
        select(Position)
        .where(Position.role.in_(("department_head", "command_center_head")))
        .options(selectinload(Position.person))
    )
    for pos in positions:
        if pos.department_id is not None and _current(pos):
            heads.setdefault(pos.department_id, []).append(pos.person)
    return render_template("org/departments.html", departments=ordered, heads=heads)


@bp.get("/org/departments/<int:department_id>")
@login_required
def department(department_id: int) -> str:
    session = db()
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound("no department with id %(id)s", field="id", params={"id": department_id})
    positions = list(
        session.scalars(
            select(Position)
            .where(Position.department_id == department_id)
            .options(selectinload(Position.person), selectinload(Position.in_charge_of))
            .order_by(Position.valid_from.desc())
        )
    )
    systems = list(
        session.scalars(
            select(System)
            .outerjoin(system_users, system_users.c.system_id == System.id)
            .where(
                or_(
                    System.owner_department_id == department_id,
                    System.operator_department_id == department_id,
                    system_users.c.department_id == department_id,
                )
            )
            .distinct()
            .order_by(System.name)
        )
    )
    return render_template(
        "org/department.html",
        dept=dept,
        current=[p for p in positions if _current(p)],
        past=[p for p in positions if not _current(p)],
        systems=systems,
        chain=responsible_for(session, at=now(), department_id=department_id),
    )


@bp.get("/org/people")
@login_required
def people() -> str:
    session = db()
    persons = list(
        session.scalars(
            select(Person)
            .order_by(Person.login)
            .options(selectinload(Person.positions).selectinload(Position.department))
        )
    )
    return render_template("org/people.html", people=persons, is_current=_current)


@bp.get("/org/people/<int:person_id>")
@login_required
def person(person_id: int) -> str:
    session = db()
    found = session.get(Person, person_id)
    if found is None:
        raise NotFound("no person with id %(id)s", field="id", params={"id": person_id})
    positions = list(
        session.scalars(
            select(Position)
            .where(Position.person_id == person_id)
            .options(selectinload(Position.department), selectinload(Position.in_charge_of))
            .order_by(Position.valid_from.desc())
        )
    )
    me = user()
    return render_template(
        "org/person.html",
        person=found,
        positions=positions,
        is_current=_current,
        # Contact details for admins and the person only (least privilege).
        show_contact=me.is_admin or me.person_id == found.id,
        can_sign_out=me.is_admin,
    )


@bp.get("/org/systems")
@login_required
def systems() -> str:
    found = list(
        db().scalars(
            select(System)
            .order_by(System.name)
            .options(
                selectinload(System.owner_department),
                selectinload(System.operator_department),
                selectinload(System.operator_person),
                selectinload(System.user_departments),
            )
        )
    )
    return render_template("org/systems.html", systems=found)


@bp.get("/org/systems/<int:system_id>")
@login_required
def system(system_id: int) -> str:
    session = db()
    found = session.get(System, system_id)
    if found is None:
        raise NotFound("no system with id %(id)s", field="id", params={"id": system_id})
    return render_template(
        "org/system.html",
        system=found,
        chain=responsible_for(session, at=now(), system_id=system_id),
    )
