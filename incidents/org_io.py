"""Import and export of the organisation as YAML (``fenghuo org import|export``).

This module reads the YAML; ``incidents.org_export`` writes it and ``incidents.org_writer``
applies and audits each change. ``export_org`` is re-exported here, beside ``import_org``.

Import is idempotent: departments are matched by ``code``, people by ``login``, systems
by ``code``, positions by (person, role, department, from). Running the same file twice
changes nothing and writes no audit event; every real change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit import Actor
from incidents.errors import ValidationError
from incidents.inputs import parse_datetime
from incidents.org import LANGUAGES, ROLES, Department, Person, Position, System
from incidents.org_export import export_org
from incidents.org_writer import ImportResult, OrgWriter

__all__ = ["DEPARTMENT_KINDS", "ImportResult", "export_org", "import_org"]

DEPARTMENT_KINDS = ("leadership", "command_center", "office", "hr", "business", "leading_group")


def _req(item: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in item or item[key] in (None, ""):
        raise ValidationError("is required", field=f"{where}.{key}", code="required")
    value = item[key]
    if isinstance(value, Mapping | list | bool):
        raise ValidationError("must be text", field=f"{where}.{key}", code="text")
    return value


def _text(item: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    """An optional text value (a number is taken as its digits: a phone, a code)."""
    value = item.get(key, default)
    if value is None:
        return default
    if isinstance(value, Mapping | list | bool):
        raise ValidationError("must be text", field=f"{where}.{key}", code="text")
    return str(value)


def _flag(item: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise ValidationError("must be true or false", field=f"{where}.{key}", code="true_false")
    return value


def _items(item: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """A list value; absent or empty is no items, anything else names the entry and key."""
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(
            "must be a list, got %(type)s",
            field=f"{where}.{key}" if where else key,
            code="list",
            params={"type": type(value).__name__},
        )
    return value


def _once(seen: dict[str, str], key: str, where: str, what: str) -> None:
    """Refuse a second entry for the same key in one file (it would silently win)."""
    if key in seen:
        raise ValidationError(
            "%(what)s %(key)r appears twice (also %(seen)s)",
            field=where,
            code="appears_twice",
            params={"what": what, "key": key, "seen": seen[key]},
        )
    seen[key] = where


def _when(value: object, where: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError("needs a time zone", field=where, code="needs_time_zone")
        return value
    return parse_datetime(value, where)


def _check_keys(item: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in item:
        if key not in allowed:
            raise ValidationError(
                "unknown key; allowed: %(allowed)s",
                field=f"{where}.{key}",
                code="unknown_key_allowed",
                params={"allowed": ", ".join(sorted(allowed))},
            )


def import_org(session: Session, text: str, *, actor: Actor, now: datetime) -> ImportResult:
    """Apply the YAML organisation ``text`` inside the caller's transaction."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(
            "not valid YAML: %(exc)s", field="file", code="file.not_valid_yaml", params={"exc": exc}
        ) from None
    if not isinstance(doc, Mapping):
        raise ValidationError(
            "the file must be a mapping with departments, people, systems",
            field="file",
            code="file.file_mapping_departments_people",
        )
    _check_keys(doc, {"departments", "people", "systems"}, "file")
    result = ImportResult()
    depts = _import_departments(session, _items(doc, "departments", ""), result, actor, now)
    people = _import_people(session, _items(doc, "people", ""), depts, result, actor, now)
    _import_systems(session, _items(doc, "systems", ""), depts, people, result, actor, now)
    return result


def _dept_by_code(session: Session) -> dict[str, Department]:
    return {d.code: d for d in session.scalars(select(Department))}


def _import_departments(
    session: Session, items: list[Any], result: ImportResult, actor: Actor, now: datetime
) -> dict[str, Department]:
    writer = OrgWriter(session, actor, now, result)
    depts = _dept_by_code(session)
    allowed = {"code", "name", "name_en", "kind", "parent", "competent"}
    # Two passes: create or update every department, then link parents, so that the
    # file need not list parents first.
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"departments[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError("must be a mapping", field=where, code="mapping")
        _check_keys(item, allowed, where)
        code = str(_req(item, "code", where))
        _once(seen, code, f"{where}.code", "department code")
        kind = item.get("kind", "business")
        if kind not in DEPARTMENT_KINDS:
            raise ValidationError(
                "must be one of %(choices)s",
                field=f"{where}.kind",
                code="choice",
                params={"choices": ", ".join(DEPARTMENT_KINDS)},
            )
        values = {
            "name": str(_req(item, "name", where)),
            "name_en": _text(item, "name_en", where),
            "kind": kind,
        }
        dept = depts.get(code)
        if dept is None:
            dept = depts[code] = Department(code=code, **values)
            writer.created(
                dept, subject="department", plural="departments", data={"code": code, **values}
            )
        else:
            writer.update(dept, values, subject="department", plural="departments")
    for i, item in enumerate(items):
        where = f"departments[{i}]"
        dept = depts[str(item["code"])]
        for key, attr in (("parent", "parent_id"), ("competent", "competent_department_id")):
            ref = item.get(key)
            target_id = None
            if ref is not None:
                if str(ref) not in depts:
                    raise ValidationError(
                        "no department with code %(code)r",
                        field=f"{where}.{key}",
                        code="no_department_code",
                        params={"code": ref},
                    )
                target_id = depts[str(ref)].id
            writer.update(dept, {attr: target_id}, subject="department", plural="departments")
    session.flush()
    return depts


def _import_people(
    session: Session,
    items: list[Any],
    depts: dict[str, Department],
    result: ImportResult,
    actor: Actor,
    now: datetime,
) -> dict[str, Person]:
    writer = OrgWriter(session, actor, now, result)
    people = {p.login: p for p in session.scalars(select(Person))}
    allowed = {
        "login",
        "name",
        "email",
        "phone",
        "language",
        "admin",
        "active",
        "deputy",
        "positions",
    }
    deputies: list[tuple[Person, str, str]] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"people[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError("must be a mapping", field=where, code="mapping")
        _check_keys(item, allowed, where)
        login = str(_req(item, "login", where))
        _once(seen, login, f"{where}.login", "login")
        language = item.get("language", "zh_CN")
        if language not in LANGUAGES:
            raise ValidationError(
                "must be one of %(choices)s",
                field=f"{where}.language",
                code="choice",
                params={"choices": ", ".join(LANGUAGES)},
            )
        values = {
            "name": str(_req(item, "name", where)),
            "email": _text(item, "email", where),
            "phone": _text(item, "phone", where),
            "language": language,
            "is_admin": _flag(item, "admin", where, False),
            "active": _flag(item, "active", where, True),
        }
        person = people.get(login)
        if person is None:
            person = people[login] = Person(login=login, created_at=now, **values)
            writer.created(
                person, subject="person", plural="people", data={"login": login, **values}
            )
        else:
            writer.update(person, values, subject="person", plural="people")
        for j, pos in enumerate(_items(item, "positions", where)):
            _import_position(writer, person, pos, f"{where}.positions[{j}]", depts)
        if "deputy" in item:
            deputies.append((person, _text(item, "deputy", where), f"{where}.deputy"))
    session.flush()
    # Who stands in for whom (an inform not confirmed goes to the deputy too): resolved
    # once everyone in the file exists, so a deputy may be listed after their principal.
    for person, login, where in deputies:
        deputy = people.get(login) if login else None
        if login and deputy is None:
            raise ValidationError(
                "no person with login %(login)r",
                field=where,
                code="no_person_login",
                params={"login": login},
            )
        if deputy is not None and deputy.id == person.id:
            raise ValidationError(
                "a person cannot be their own deputy", field=where, code="person_cannot_their_own"
            )
        writer.update(
            person,
            {"deputy_id": deputy.id if deputy is not None else None},
            subject="person",
            plural="people",
        )
    session.flush()
    return people


def _import_position(
    writer: OrgWriter, person: Person, item: Any, where: str, depts: dict[str, Department]
) -> None:
    if not isinstance(item, Mapping):
        raise ValidationError("must be a mapping", field=where, code="mapping")
    _check_keys(item, {"role", "department", "from", "until", "title", "in_charge_of"}, where)
    role = str(_req(item, "role", where))
    if role not in ROLES:
        raise ValidationError(
            "unknown role; one of %(choices)s",
            field=f"{where}.role",
            code="unknown_role",
            params={"choices": ", ".join(ROLES)},
        )
    dept_code = item.get("department")
    dept = None
    if dept_code is not None:
        dept = depts.get(str(dept_code))
        if dept is None:
            raise ValidationError(
                "no department with code %(code)r",
                field=f"{where}.department",
                code="no_department_code",
                params={"code": dept_code},
            )
    valid_from = _when(_req(item, "from", where), f"{where}.from")
    until = item.get("until")
    valid_until = _when(until, f"{where}.until") if until is not None else None
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationError("must be after from", field=f"{where}.until", code="after_from")
    charges = []
    for k, code in enumerate(_items(item, "in_charge_of", where)):
        if str(code) not in depts:
            raise ValidationError(
                "no department with code %(code)r",
                field=f"{where}.in_charge_of[{k}]",
                code="no_department_code",
                params={"code": code},
            )
        charges.append(depts[str(code)])
    existing = next(
        (
            p
            for p in person.positions
            if p.role == role
            and p.department_id == (dept.id if dept else None)
            and p.valid_from == valid_from
        ),
        None,
    )
    data = {
        "login": person.login,
        "role": role,
        "department": dept_code,
        "from": valid_from.isoformat(),
        "until": valid_until.isoformat() if valid_until else None,
        "in_charge_of": [d.code for d in charges],
    }
    if existing is None:
        position = Position(
            person=person,
            role=role,
            department=dept,
            title=str(item.get("title", "")),
            valid_from=valid_from,
            valid_until=valid_until,
            in_charge_of=charges,
        )
        writer.created(position, subject="position", plural="positions", data=data)
        return
    changed = (
        existing.valid_until != valid_until
        or existing.title != str(item.get("title", ""))
        or {d.id for d in existing.in_charge_of} != {d.id for d in charges}
    )
    if changed:
        existing.valid_until = valid_until
        existing.title = str(item.get("title", ""))
        existing.in_charge_of = charges
        writer.changed(existing, subject="position", plural="positions", data=data)


def _import_systems(
    session: Session,
    items: list[Any],
    depts: dict[str, Department],
    people: dict[str, Person],
    result: ImportResult,
    actor: Actor,
    now: datetime,
) -> None:
    writer = OrgWriter(session, actor, now, result)
    systems = {s.code: s for s in session.scalars(select(System))}
    allowed = {
        "code",
        "name",
        "description",
        "owner",
        "operator",
        "operator_person",
        "users",
        "cii",
        "mlps_level",
    }
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"systems[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError("must be a mapping", field=where, code="mapping")
        _check_keys(item, allowed, where)
        code = str(_req(item, "code", where))
        _once(seen, code, f"{where}.code", "system code")

        def dept(
            key: str, required: bool, item: Mapping[str, Any] = item, where: str = where
        ) -> Department | None:
            ref = item.get(key)
            if ref is None:
                if required:
                    raise ValidationError("is required", field=f"{where}.{key}", code="required")
                return None
            if str(ref) not in depts:
                raise ValidationError(
                    "no department with code %(code)r",
                    field=f"{where}.{key}",
                    code="no_department_code",
                    params={"code": ref},
                )
            return depts[str(ref)]

        owner = dept("owner", True)
        assert owner is not None
        operator = dept("operator", False)
        op_login = item.get("operator_person")
        op_person = None
        if op_login is not None:
            op_person = people.get(str(op_login))
            if op_person is None:
                raise ValidationError(
                    "no person with login %(login)r",
                    field=f"{where}.operator_person",
                    code="no_person_login",
                    params={"login": op_login},
                )
        users = []
        for k, ref in enumerate(_items(item, "users", where)):
            if str(ref) not in depts:
                raise ValidationError(
                    "no department with code %(code)r",
                    field=f"{where}.users[{k}]",
                    code="no_department_code",
                    params={"code": ref},
                )
            users.append(depts[str(ref)])
        level = item.get("mlps_level")
        if level is not None and (
            isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5
        ):
            raise ValidationError(
                "must be an integer from 1 to 5",
                field=f"{where}.mlps_level",
                code="integer_from_1_5",
            )
        values: dict[str, Any] = {
            "name": str(_req(item, "name", where)),
            "description": _text(item, "description", where),
            "owner_department_id": owner.id,
            "operator_department_id": operator.id if operator else None,
            "operator_person_id": op_person.id if op_person else None,
            "is_cii": _flag(item, "cii", where, False),
            "mlps_level": level,
        }
        system = systems.get(code)
        if system is None:
            system = System(code=code, **values)
            system.user_departments = users
            writer.created(
                system,
                subject="system",
                plural="systems",
                data={"code": code, **values, "users": [d.code for d in users]},
            )
            continue
        if {d.id for d in system.user_departments} != {d.id for d in users}:
            system.user_departments = users
            writer.changed(
                system, subject="system", plural="systems", data={"users": [d.code for d in users]}
            )
        writer.update(system, values, subject="system", plural="systems")
