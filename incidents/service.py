"""Record-level use cases: create, patch, change status, change grade, read.

These write the record and its audit events and nothing else. The use cases that also
start or stop clocks (``escalation.response``) call these inside the same transaction;
faces call ``escalation.response``, never these directly for writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from incidents import lifecycle
from incidents.audit import Actor, record
from incidents.errors import Conflict, NotFound, ValidationError
from incidents.grading import GRADE_RANK, Impact, below_suggestion, suggest
from incidents.inputs import IncidentInput
from incidents.models import GradeChange, Incident, incident_systems
from incidents.numbering import insert_numbered
from incidents.org import Department, Person, System
from incidents.rows import adopt


@dataclass(frozen=True)
class _Refs:
    """The records an incident's input names, loaded once and held: the new incident
    refers to the objects, so reading them back (the API's answer) needs no query."""

    systems: list[System]
    department: Department | None
    handling_lead: Person | None
    caused_by: Person | None


def _check_refs(session: Session, data: IncidentInput) -> _Refs:
    ids = list(data.system_ids or [])
    found: dict[int, System] = {}
    if ids:
        found = {s.id: s for s in session.scalars(select(System).where(System.id.in_(ids)))}
    for i, sid in enumerate(ids):
        if sid not in found:
            raise ValidationError(
                "no system with id %(id)s",
                field=f"system_ids[{i}]",
                code="no_system_id",
                params={"id": sid},
            )
    department = None
    if data.responsible_department_id is not None:
        department = session.get(Department, data.responsible_department_id)
        if department is None:
            raise ValidationError(
                "no department with id %(id)s",
                field="responsible_department_id",
                code="responsible_department_id.no_department_id",
                params={"id": data.responsible_department_id},
            )
    people: dict[str, Person | None] = {}
    for name in ("handling_lead_id", "caused_by_id"):
        pid = getattr(data, name)
        people[name] = session.get(Person, pid) if pid is not None else None
        if pid is not None and people[name] is None:
            raise ValidationError(
                "no person with id %(id)s", field=name, code="no_person_id", params={"id": pid}
            )
    return _Refs(
        systems=[found[sid] for sid in ids],
        department=department,
        handling_lead=people["handling_lead_id"],
        caused_by=people["caused_by_id"],
    )


def _held(refs: _Refs) -> dict[str, Any]:
    """The relationships of a new incident to the records its input named (those given)."""
    held: dict[str, Any] = {
        "responsible_department": refs.department,
        "handling_lead": refs.handling_lead,
        "caused_by": refs.caused_by,
    }
    return {name: value for name, value in held.items() if value is not None}


def _grading(impact: Impact, grade: str) -> tuple[str, str, bool]:
    suggestion = suggest(impact)
    return (
        suggestion.grade,
        json.dumps(suggestion.to_dict(), ensure_ascii=False),
        below_suggestion(grade, suggestion.grade),
    )


def create_incident(
    session: Session,
    *,
    data: IncidentInput,
    actor: Actor,
    now: datetime,
    tz: tzinfo = UTC,
) -> Incident:
    """Log an incident: number it, grade it (the suggestion if none chosen), audit it."""
    assert data.title is not None and data.category is not None and data.detected_at is not None
    if data.detected_at > now:
        raise ValidationError(
            "cannot be in the future", field="detected_at", code="detected_at.future"
        )
    refs = _check_refs(session, data)
    systems = refs.systems
    impact = data.impact or Impact()
    if systems and any(s.is_cii for s in systems) and not impact.cii:
        # A critical information infrastructure system is affected: grade it as such.
        impact = Impact.from_mapping({**impact.to_dict(), "cii": True})
    suggested = suggest(impact)
    grade = data.grade or suggested.grade
    department_id = data.responsible_department_id
    if department_id is None and systems:
        department_id = systems[0].owner_department_id  # 谁主管谁负责
    year = now.astimezone(tz).year
    suggested_grade, suggestion_json, below = _grading(impact, grade)
    row: dict[str, Any] = {
        "year": year,
        "title": data.title,
        "description": data.description or "",
        "category": data.category,
        "grade": grade,
        "status": "new",
        "detected_at": data.detected_at,
        "occurred_at": data.occurred_at,
        "location": data.location or "",
        "responsible_department_id": department_id,
        "reporter_id": actor.person_id,
        "handling_lead_id": data.handling_lead_id,
        "caused_by_id": data.caused_by_id,
        "impact_json": json.dumps(impact.to_dict(), ensure_ascii=False),
        "suggested_grade": suggested_grade,
        "suggestion_json": suggestion_json,
        "below_suggestion": below,
        "acknowledged_at": None,
        "acknowledged_by_id": None,
        "handling_started_at": None,
        "resolved_at": None,
        "closed_at": None,
        "reopen_count": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    # Numbered and inserted by Core statements (one on PostgreSQL); the object is held by
    # the session as loaded, with the records it refers to, so nothing is read back.
    # The first grade's record goes in with it: nothing in the transaction reads it back.
    graded = {
        "from_grade": None,
        "to_grade": grade,
        "reason": data.grade_reason or ("suggested" if data.grade is None else ""),
        "actor_id": actor.person_id,
        "at": now,
    }
    incident_id, seq, number = insert_numbered(session, year, row, graded)
    if systems:
        session.execute(
            insert(incident_systems),
            [{"incident_id": incident_id, "system_id": s.id} for s in systems],
        )
    incident = adopt(session, Incident, {**row, "id": incident_id, "seq": seq, "number": number})
    set_committed_value(incident, "systems", systems)
    for name, held in _held(refs).items():
        set_committed_value(incident, name, held)
    record(
        session,
        actor=actor,
        kind="incident.created",
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        now=now,
        data={
            "number": number,
            "title": incident.title,
            "category": incident.category,
            "grade": grade,
            "suggested_grade": suggested_grade,
            "below_suggestion": below,
            "detected_at": incident.detected_at.isoformat(),
            "system_ids": [s.id for s in systems],
            "responsible_department_id": department_id,
        },
    )
    return incident


def get_incident(session: Session, incident_id: int, *, lock: bool = False) -> Incident:
    stmt = select(Incident).where(Incident.id == incident_id)
    if lock:
        # FOR NO KEY UPDATE: rows inserted meanwhile that refer to the incident take a
        # KEY SHARE lock on it and must not queue behind us (a deadlock otherwise).
        stmt = stmt.with_for_update(key_share=True)
    incident = session.scalars(stmt).first()
    if incident is None:
        raise NotFound(
            "no incident with id %(id)s",
            field="id",
            code="id.no_incident_id",
            params={"id": incident_id},
        )
    return incident


def patch_incident(
    session: Session, *, incident_id: int, data: IncidentInput, actor: Actor, now: datetime
) -> Incident:
    """Change descriptive fields; the grade and the status have their own use cases."""
    incident = get_incident(session, incident_id, lock=True)
    if incident.status == "closed":
        raise Conflict(
            "a closed incident cannot be edited; reopen it first",
            field="status",
            code="status.closed_incident_cannot_edited",
        )
    refs = _check_refs(session, data)
    systems = refs.systems
    changes: dict[str, Any] = {}
    for name in (
        "title",
        "description",
        "category",
        "location",
        "occurred_at",
        "responsible_department_id",
        "handling_lead_id",
        "caused_by_id",
    ):
        if name in data.given:
            new = getattr(data, name)
            if name in ("title", "category") and new is None:
                raise ValidationError("cannot be removed", field=name, code="not_removable")
            old = getattr(incident, name)
            if new != old:
                changes[name] = {"from": _plain(old), "to": _plain(new)}
                # Text the database keeps NOT NULL is cleared to "", not set to null.
                cleared = "" if name in ("description", "location") else None
                setattr(incident, name, new if new is not None else cleared)
    if incident.occurred_at and incident.occurred_at > incident.detected_at:
        raise ValidationError(
            "cannot be after detected_at",
            field="occurred_at",
            code="occurred_at.cannot_after_detected",
        )
    if "system_ids" in data.given:
        old_ids = [s.id for s in incident.systems]
        if old_ids != [s.id for s in systems]:
            changes["system_ids"] = {"from": old_ids, "to": [s.id for s in systems]}
            incident.systems = systems
    if "impact" in data.given:
        impact = data.impact or Impact()
        if impact.to_dict() != incident.impact:
            changes["impact"] = {"from": incident.impact, "to": impact.to_dict()}
            incident.impact_json = json.dumps(impact.to_dict(), ensure_ascii=False)
            (incident.suggested_grade, incident.suggestion_json, incident.below_suggestion) = (
                _grading(impact, incident.grade)
            )
    if not changes:
        return incident
    incident.updated_at = now
    incident.version += 1
    record(
        session,
        actor=actor,
        kind="incident.updated",
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        now=now,
        data=changes,
    )
    return incident


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


# Which timestamp each status sets, so "when" is a column and not a search in the log.
_STAMPS = {
    "acknowledged": "acknowledged_at",
    "handling": "handling_started_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
}


def change_status(
    session: Session,
    *,
    incident_id: int,
    to: str,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
) -> Incident:
    """Move the incident to ``to`` with a compare-and-set on the current status.

    A concurrent change (a double tap, another face) makes the UPDATE match no row, and
    the caller gets a ``Conflict`` naming the state it lost to.
    """
    incident = get_incident(session, incident_id)
    current = incident.status
    lifecycle.check(current, to, reason)
    values: dict[str, Any] = {"status": to, "updated_at": now, "version": Incident.version + 1}
    stamp = _STAMPS.get(to)
    if stamp:
        values[stamp] = now
    if to in ("acknowledged", "handling") and incident.acknowledged_at is None:
        values["acknowledged_at"] = now
        values["acknowledged_by_id"] = actor.person_id
    if to == "reopened":
        values["reopen_count"] = Incident.reopen_count + 1
        values["resolved_at"] = None
        values["closed_at"] = None
    result = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(incident)
        raise Conflict(
            "the incident changed meanwhile (now %(status)s); reload and try again",
            field="status",
            code="stale",
            params={"status": incident.status},
        )
    session.refresh(incident)
    record(
        session,
        actor=actor,
        kind=f"incident.{to}",
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        now=now,
        data={"from": current, "to": to, "reason": reason or ""},
    )
    return incident


@dataclass(frozen=True)
class GradeResult:
    incident: Incident
    previous: str
    upgraded: bool
    downgraded: bool


def change_grade(
    session: Session, *, incident_id: int, grade: str, reason: str, actor: Actor, now: datetime
) -> GradeResult:
    incident = get_incident(session, incident_id, lock=True)
    if incident.status == "closed":
        raise Conflict(
            "a closed incident cannot be regraded; reopen it first",
            field="grade",
            code="grade.closed_incident_cannot_regraded",
        )
    previous = incident.grade
    if grade == previous:
        raise Conflict(
            "the incident is already graded %(grade)s",
            field="grade",
            code="no_change",
            params={"grade": grade},
        )
    if not reason.strip():
        raise ValidationError(
            "a reason is required to change the grade",
            field="reason",
            code="reason.reason_required_change_grade",
        )
    incident.grade = grade
    incident.below_suggestion = below_suggestion(grade, incident.suggested_grade)
    incident.updated_at = now
    incident.version += 1
    session.add(
        GradeChange(
            incident_id=incident.id,
            from_grade=previous,
            to_grade=grade,
            reason=reason,
            actor_id=actor.person_id,
            at=now,
        )
    )
    record(
        session,
        actor=actor,
        kind="incident.regraded",
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        now=now,
        data={
            "from": previous,
            "to": grade,
            "reason": reason,
            "below_suggestion": incident.below_suggestion,
        },
    )
    return GradeResult(
        incident=incident,
        previous=previous,
        upgraded=GRADE_RANK[grade] > GRADE_RANK[previous],
        downgraded=GRADE_RANK[grade] < GRADE_RANK[previous],
    )
