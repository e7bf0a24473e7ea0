"""Monitoring intake: alerts from machines become one incident per alert group.

A group is named by its dedup key (Alertmanager's ``groupKey``, or the caller's key on
the generic webhook), prefixed by the form it came in. The ``intake_group`` row is
unique on that key: the first notification of a group inserts it and opens the
incident (whose first step pages, as for any incident); every later notification of
the group, firing or resolved, adds a timeline entry and counts, and pages nobody. A
``resolved`` alert never closes anything: a person decides. Two simultaneous posts of
one group cannot open two incidents: the insert is ``ON CONFLICT DO NOTHING`` and the
row is then read ``FOR UPDATE``, so the second waits for the first and finds its
incident.

Once a person has closed the incident, the group's next *firing* notification opens a
new one, and the closed one's timeline says so (``intake.recurred``): an alert that
fires again must not vanish into a closed record. A resolved notification only adds to
the closed timeline.

When the group opens its incident, the labels map to its system, responsible department,
category and suggested grade through the policy's ``[intake]`` section
(``escalation.intake_mapping``); an ``intake.mapped`` timeline entry says where each came
from and which unknown label value fell back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from config.policy import Policy
from escalation.intake_mapping import AlertMapping, map_alert
from escalation.response import open_incident
from incidents.audit import Actor, record
from incidents.db import Base, UTCDateTime
from incidents.inputs import IncidentInput
from incidents.models import Incident


class IntakeGroup(Base):
    """One alert group from a monitoring system, and the incident it opened."""

    __tablename__ = "intake_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    notifications: Mapped[int] = mapped_column(Integer, default=0)
    firing: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Alert:
    status: str  # "firing" or "resolved"
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class Notification:
    """One delivery from a monitoring system: a group and its alerts."""

    source: str  # the form: "alertmanager" or "webhook"
    key: str
    title: str
    labels: Mapping[str, str]
    alerts: Sequence[Alert]
    description: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)
    # The sending system as it names itself (the generic webhook's ``source``); the audit
    # actor is ``monitoring:<origin>``, or ``monitoring:<source>`` without one.
    origin: str = ""
    # The generic webhook's explicit values; they win over the labels' mapping.
    severity: str | None = None
    grade: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    incident_id: int
    created: bool
    firing: int
    resolved: int


def monitoring_actor(source: str) -> Actor:
    return Actor(person_id=None, login=f"monitoring:{source}", source="monitoring")


def _claim(session: Session, key: str, source: str, now: datetime) -> IntakeGroup:
    values = {
        "key": key,
        "source": source,
        "notifications": 0,
        "firing": 0,
        "resolved": 0,
        "first_at": now,
        "last_at": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(IntakeGroup).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(IntakeGroup).values(**values).on_conflict_do_nothing())
    group = session.scalars(
        select(IntakeGroup)
        .where(IntakeGroup.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return group


def _incident_input(mapping: AlertMapping, note: Notification, now: datetime) -> IncidentInput:
    starts = [a.starts_at for a in note.alerts if a.starts_at is not None and a.starts_at <= now]
    given = {"title", "category", "detected_at", "description", "system_ids", "grade"}
    return IncidentInput(
        title=note.title[:300],
        description=note.description[:20000],
        category=mapping.category,
        grade=mapping.grade,
        grade_reason=f"monitoring: {mapping.grade_from}"[:2000],
        detected_at=min(starts) if starts else now,
        system_ids=[mapping.system_id] if mapping.system_id is not None else [],
        responsible_department_id=mapping.department_id,
        given=given,
    )


def _record_mapping(
    session: Session, *, actor: Actor, incident_id: int, mapping: AlertMapping, now: datetime
) -> None:
    record(
        session,
        actor=actor,
        kind="intake.mapped",
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
        now=now,
        data={
            "reason": mapping.summary(),
            "fallbacks": list(mapping.fallbacks),
            "system": mapping.system_code,
            "department": mapping.department_code,
            "grade": mapping.grade,
            "grade_from": mapping.grade_from,
            "category": mapping.category,
        },
    )


def _closed_incident(session: Session, group: IntakeGroup) -> int | None:
    """The group's incident when a person has closed it: a firing alert of the group then
    opens a new incident rather than vanish into a closed one's timeline."""
    if group.incident_id is None:
        return None
    status = session.scalar(select(Incident.status).where(Incident.id == group.incident_id))
    return group.incident_id if status == "closed" else None


def ingest(session: Session, *, note: Notification, now: datetime, policy: Policy) -> IntakeResult:
    """Record one notification: open the group's incident once, then only update it."""
    actor = monitoring_actor(note.origin or note.source)
    group = _claim(session, f"{note.source}:{note.key}", note.source, now)
    firing = sum(1 for a in note.alerts if a.status == "firing")
    resolved = sum(1 for a in note.alerts if a.status == "resolved")
    previous = _closed_incident(session, group) if firing else None
    created = group.incident_id is None or previous is not None
    mapping: AlertMapping | None = None
    if created:
        mapping = map_alert(
            session,
            labels=note.labels,
            policy=policy.intake,
            severity=note.severity,
            grade=note.grade,
            category=note.category,
        )
        incident = open_incident(
            session,
            data=_incident_input(mapping, note, now),
            actor=actor,
            now=now,
            policy=policy,
        )
        group.incident_id = incident.id
        if previous is not None:
            record(
                session,
                actor=actor,
                kind="intake.recurred",
                subject_type="incident",
                subject_id=previous,
                incident_id=previous,
                now=now,
                data={
                    "reason": f"the alert group fired again after closing: {incident.number}",
                    "source": note.source,
                    "key": note.key,
                    "new_incident_id": incident.id,
                },
            )
    assert group.incident_id is not None
    group.notifications += 1
    group.firing += firing
    group.resolved += resolved
    group.last_at = now
    record(
        session,
        actor=actor,
        kind="intake.received" if created else "intake.repeated",
        subject_type="incident",
        subject_id=group.incident_id,
        incident_id=group.incident_id,
        now=now,
        data={
            "source": note.source,
            "key": note.key,
            "firing": firing,
            "resolved": resolved,
            "notifications": group.notifications,
            "fingerprints": [a.fingerprint for a in note.alerts if a.fingerprint][:50],
            "labels": dict(note.labels),
            **({"previous_incident_id": previous} if previous is not None else {}),
            **dict(note.extra),
        },
    )
    if mapping is not None:
        _record_mapping(
            session, actor=actor, incident_id=group.incident_id, mapping=mapping, now=now
        )
    if resolved:
        record(
            session,
            actor=actor,
            kind="intake.resolved",
            subject_type="incident",
            subject_id=group.incident_id,
            incident_id=group.incident_id,
            now=now,
            data={
                "source": note.source,
                "key": note.key,
                "resolved": resolved,
                "fingerprints": [
                    a.fingerprint for a in note.alerts if a.status == "resolved" and a.fingerprint
                ][:50],
            },
        )
    session.flush()
    return IntakeResult(
        incident_id=group.incident_id, created=created, firing=firing, resolved=resolved
    )
