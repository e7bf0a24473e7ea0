"""The grade's policy frozen into an incident, and read back from there only.

Editing the policy affects new incidents only (DESIGN "The clocks"): when an incident
opens, ``policy.grade(grade).to_dict()`` is stored with the reporter category and time
zone it was read with; from then on the incident's deadlines, warnings, breach alerts
and handling target come from that snapshot. A regrade takes a fresh snapshot of the new
grade from the policy in force at that moment.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session

from config.policy import GradePolicy, Policy
from escalation.models import IncidentClock
from incidents.models import Incident
from incidents.rows import adopt, table_of


def freeze(session: Session, incident: Incident, policy: Policy, now: datetime) -> IncidentClock:
    """Store the snapshot of ``incident``'s grade; the handling target counts from detection.

    One INSERT; the clock is held by the session as loaded (``incidents.rows.adopt``)."""
    gp = policy.grade(incident.grade)
    row = {
        "incident_id": incident.id,
        "grade": incident.grade,
        "snapshot_json": json.dumps(gp.to_dict(), ensure_ascii=False),
        "reporter_category": policy.reporter_category,
        "timezone": policy.timezone,
        "handling_due_at": incident.detected_at + gp.handling_target,
        "handled_promptly": None,
        "started_at": now,
        "updated_at": now,
    }
    session.execute(insert(table_of(IncidentClock)), row)
    return adopt(session, IncidentClock, row)


def refreeze(clock: IncidentClock, grade: str, gp: GradePolicy, now: datetime) -> None:
    """Replace the snapshot after a regrade (the caller adjusts the deadlines)."""
    clock.grade = grade
    clock.snapshot_json = json.dumps(gp.to_dict(), ensure_ascii=False)
    clock.updated_at = now


def grade_policy(clock: IncidentClock) -> GradePolicy:
    """The frozen snapshot, validated by the same rules as the policy file."""
    return GradePolicy.from_dict(clock.snapshot, key=f"incident_clock[{clock.incident_id}]")


def zone(clock: IncidentClock) -> ZoneInfo:
    return ZoneInfo(clock.timezone)


def get_clock(session: Session, incident_id: int) -> IncidentClock | None:
    return session.get(IncidentClock, incident_id)
