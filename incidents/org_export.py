"""Export of the organisation as YAML (``fenghuo org export``).

The document has the shape ``incidents.org_io.import_org`` reads: departments by code,
people by login with their positions, systems by code. Most optional fields are written
only when set, so an export reads like the file an administrator would write.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.org import Department, Person, System


def export_org(session: Session) -> str:
    """The organisation as YAML that ``import_org`` reads back to the same state."""
    depts = list(session.scalars(select(Department).order_by(Department.id)))
    by_id = {d.id: d for d in depts}
    out: dict[str, Any] = {"departments": [], "people": [], "systems": []}
    for d in depts:
        item: dict[str, Any] = {
            "code": d.code,
            "name": d.name,
            "name_en": d.name_en,
            "kind": d.kind,
        }
        if d.parent_id:
            item["parent"] = by_id[d.parent_id].code
        if d.competent_department_id:
            item["competent"] = by_id[d.competent_department_id].code
        out["departments"].append(item)
    for p in session.scalars(select(Person).order_by(Person.id)):
        person: dict[str, Any] = {"login": p.login, "name": p.name, "language": p.language}
        for key, attr in (("email", "email"), ("phone", "phone")):
            if getattr(p, attr):
                person[key] = getattr(p, attr)
        if p.deputy_id is not None:
            deputy = session.get(Person, p.deputy_id)
            if deputy is not None:
                person["deputy"] = deputy.login
        if p.is_admin:
            person["admin"] = True
        if not p.active:
            person["active"] = False
        positions = []
        for pos in p.positions:
            entry: dict[str, Any] = {"role": pos.role, "from": pos.valid_from.isoformat()}
            if pos.department_id:
                entry["department"] = by_id[pos.department_id].code
            if pos.valid_until:
                entry["until"] = pos.valid_until.isoformat()
            if pos.title:
                entry["title"] = pos.title
            if pos.in_charge_of:
                entry["in_charge_of"] = [d.code for d in pos.in_charge_of]
            positions.append(entry)
        if positions:
            person["positions"] = positions
        out["people"].append(person)
    for s in session.scalars(select(System).order_by(System.id)):
        system: dict[str, Any] = {
            "code": s.code,
            "name": s.name,
            "owner": by_id[s.owner_department_id].code,
        }
        if s.description:
            system["description"] = s.description
        if s.operator_department_id:
            system["operator"] = by_id[s.operator_department_id].code
        if s.operator_person:
            system["operator_person"] = s.operator_person.login
        if s.user_departments:
            system["users"] = [d.code for d in s.user_departments]
        if s.is_cii:
            system["cii"] = True
        if s.mlps_level:
            system["mlps_level"] = s.mlps_level
        out["systems"].append(system)
    return str(yaml.safe_dump(out, allow_unicode=True, sort_keys=False))
