"""The JSON shapes the API sends, one function per kind of record.

Field names follow the record (issue 2, item 4). Codes travel with their names
(``grade`` with ``grade_name``, ``category`` with ``category_name``), so a client can
show a label without a second table, and sends back exactly the code it received.
Every time is ISO 8601 in UTC with its offset.

``app.api.shapes`` (and ``clock_shapes``) describe each shape as a model; under test every
answer is held to its model, and the API tests validate them against the document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from incidents.audit import AuditEvent
from incidents.grading import GRADE_COLOUR, GRADE_LEVEL, GRADE_NAMES
from incidents.lifecycle import STATUS_NAMES
from incidents.models import CATEGORIES, Incident
from incidents.org import ROLES, Department, Person, Position, System
from incidents.reports import KIND_NAMES, Report

API_ROOT = "/api/v1"


def iso(value: datetime | None) -> str | None:
    """UTC, with its offset: the same text whether the value was just parsed or reloaded."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def names(pair: tuple[str, str]) -> dict[str, str]:
    return {"zh": pair[0], "en": pair[1]}


def person_ref(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.id, "login": person.login, "name": person.name}


def department_ref(department: Department | None) -> dict[str, Any] | None:
    if department is None:
        return None
    return {
        "id": department.id,
        "code": department.code,
        "name": department.name,
        "name_en": department.name_en,
    }


def system_ref(system: System) -> dict[str, Any]:
    return {"id": system.id, "code": system.code, "name": system.name, "is_cii": system.is_cii}


def grade_fields(grade: str) -> dict[str, Any]:
    return {
        "grade": grade,
        "grade_name": names(GRADE_NAMES[grade]),
        "grade_level": GRADE_LEVEL[grade],
        "grade_colour": GRADE_COLOUR[grade],
    }


def incident_links(incident_id: int) -> dict[str, str]:
    base = f"{API_ROOT}/incidents/{incident_id}"
    return {
        "self": base,
        "timeline": f"{base}/timeline",
        "reports": f"{base}/reports",
        "obligations": f"{base}/obligations",
        "escalation": f"{base}/escalation",
        "web": f"/incidents/{incident_id}",
    }


def incident(row: Incident) -> dict[str, Any]:
    suggestion = row.suggestion
    return {
        "id": row.id,
        "number": row.number,
        "title": row.title,
        "description": row.description,
        "category": row.category,
        "category_name": names(CATEGORIES[row.category]),
        **grade_fields(row.grade),
        "status": row.status,
        "status_name": names(STATUS_NAMES[row.status]),
        "detected_at": iso(row.detected_at),
        "occurred_at": iso(row.occurred_at),
        "location": row.location,
        "systems": [system_ref(s) for s in row.systems],
        "responsible_department": department_ref(row.responsible_department),
        "reporter": person_ref(row.reporter),
        "handling_lead": person_ref(row.handling_lead),
        "caused_by": person_ref(row.caused_by),
        "impact": row.impact,
        "suggestion": {
            "grade": suggestion.get("grade", row.suggested_grade),
            "reasons": suggestion.get("reasons", []),
            "also": suggestion.get("also", []),
        },
        "below_suggestion": row.below_suggestion,
        "acknowledged_at": iso(row.acknowledged_at),
        "acknowledged_by": person_ref(row.acknowledged_by),
        "handling_started_at": iso(row.handling_started_at),
        "resolved_at": iso(row.resolved_at),
        "closed_at": iso(row.closed_at),
        "reopen_count": row.reopen_count,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "version": row.version,
        "links": incident_links(row.id),
    }


def event(row: AuditEvent) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": iso(row.at),
        "kind": row.kind,
        "source": row.source,
        "actor": {"id": row.actor_id, "login": row.actor_login},
        "data": row.payload,
        "hash": row.hash,
    }


def department(row: Department) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "name_en": row.name_en,
        "kind": row.kind,
        "parent_id": row.parent_id,
        "competent_department_id": row.competent_department_id,
    }


def role_fields(role: str) -> dict[str, Any]:
    zh, en, clause = ROLES.get(role, (role, role, ""))
    return {"role": role, "role_name": {"zh": zh, "en": en}, "clause": clause}


def position(row: Position) -> dict[str, Any]:
    return {
        "id": row.id,
        "person_id": row.person_id,
        **role_fields(row.role),
        "department_id": row.department_id,
        "title": row.title,
        "valid_from": iso(row.valid_from),
        "valid_until": iso(row.valid_until),
        "in_charge_of": sorted(d.id for d in row.in_charge_of),
    }


def person(row: Person, current: list[Position], *, private: bool = False) -> dict[str, Any]:
    """A person as the directory shows them: never the hash or the lockout counters.

    Email, phone, language and the admin flag only when ``private`` (the viewer is an
    admin or the person): everyone else sees names and positions (least privilege).
    """
    out: dict[str, Any] = {"id": row.id, "login": row.login, "name": row.name}
    if private:
        out.update(email=row.email, phone=row.phone, language=row.language, is_admin=row.is_admin)
    out.update(active=row.active, positions=[position(p) for p in current])
    return out


def system(row: System) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "description": row.description,
        "owner_department_id": row.owner_department_id,
        "operator_department_id": row.operator_department_id,
        "operator_person_id": row.operator_person_id,
        "user_department_ids": sorted(d.id for d in row.user_departments),
        "is_cii": row.is_cii,
        "mlps_level": row.mlps_level,
    }


def report(row: Report) -> dict[str, Any]:
    return {
        "id": row.id,
        "incident_id": row.incident_id,
        "kind": row.kind,
        "kind_name": names(KIND_NAMES[row.kind]),
        "obligations": row.obligations,
        "items": row.items,
        "late_reason": row.late_reason,
        "filed_at": iso(row.filed_at),
        "filed_by": person_ref(row.filed_by),
    }


def recipient(entry: dict[str, Any]) -> dict[str, Any]:
    """Who a fired timer reached (``person_id`` null: the target resolved to nobody)."""
    return {
        "target": entry.get("target"),
        "person_id": entry.get("person_id"),
        "login": entry.get("login"),
    }
