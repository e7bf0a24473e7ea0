"""The incident record: number, category, grade with history, status, impact facts.

Categories are the ten top-level categories of GB/T 20986-2023; grades are the four of
the CAC grading guide (2025) and of the bureau's rules. Times are UTC; ``detected_at``
(发现或获知) starts the reporting clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base, UTCDateTime
from incidents.lifecycle import OPEN_STATUSES
from incidents.org import Department, Person, System

# The partial indexes' predicates. A query uses such an index on SQLite only when its
# WHERE has the same terms with the same constants, so the dashboard renders these
# statuses as literals (not bound parameters).
OPEN_INCIDENT = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"
UNACKNOWLEDGED_INCIDENT = f"{OPEN_INCIDENT} AND acknowledged_at IS NULL"

# GB/T 20986-2023, ten top-level categories (code: zh, en).
CATEGORIES: dict[str, tuple[str, str]] = {
    "malware": ("恶意程序事件", "Malware"),
    "network_attack": ("网络攻击事件", "Network attack"),
    "data_security": ("数据安全事件", "Data security"),
    "information_content": ("信息内容安全事件", "Information content security"),
    "equipment_failure": ("设备设施故障事件", "Equipment and facility failure"),
    "noncompliant_operation": ("违规操作事件", "Non-compliant operation"),
    "security_hazard": ("安全隐患事件", "Security hazard"),
    "abnormal_behaviour": ("异常行为事件", "Abnormal behaviour"),
    "force_majeure": ("不可抗力事件", "Force majeure"),
    "other": ("其他事件", "Other"),
}

incident_systems = Table(
    "incident_system",
    Base.metadata,
    Column("incident_id", ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True),
    Column("system_id", ForeignKey("system.id", ondelete="RESTRICT"), primary_key=True),
)


class IncidentCounter(Base):
    """The last number given out per year: gap-free because it commits with the incident."""

    __tablename__ = "incident_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("year", "seq", name="uq_incident_year_seq"),
        Index("ix_incident_status_grade", "status", "grade"),
        Index("ix_incident_detected", "detected_at", "id"),
        Index("ix_incident_created", "created_at", "id"),
        Index(
            "ix_incident_open",
            "grade",
            "acknowledged_at",
            "responsible_department_id",
            "detected_at",
            "id",
            "status",  # SQLite tests the query's status terms on the index's own rows
            sqlite_where=text(OPEN_INCIDENT),
            postgresql_where=text(OPEN_INCIDENT),
        ),
        Index(
            "ix_incident_unacknowledged",
            "detected_at",
            "id",
            sqlite_where=text(UNACKNOWLEDGED_INCIDENT),
            postgresql_where=text(UNACKNOWLEDGED_INCIDENT),
        ),
        Index("ix_incident_acknowledged", "acknowledged_at"),
        Index("ix_incident_resolved", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40), index=True)
    grade: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="new")
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    location: Mapped[str] = mapped_column(String(300), default="")
    responsible_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id"), index=True
    )
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    handling_lead_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # A staff member whose breach of work rules caused it (3(4)), once identified.
    caused_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    impact_json: Mapped[str] = mapped_column(Text, default="{}")
    suggested_grade: Mapped[str] = mapped_column(String(32))
    suggestion_json: Mapped[str] = mapped_column(Text, default="{}")
    below_suggestion: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    handling_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    responsible_department: Mapped[Department | None] = relationship()
    reporter: Mapped[Person | None] = relationship(foreign_keys=[reporter_id])
    handling_lead: Mapped[Person | None] = relationship(foreign_keys=[handling_lead_id])
    acknowledged_by: Mapped[Person | None] = relationship(foreign_keys=[acknowledged_by_id])
    caused_by: Mapped[Person | None] = relationship(foreign_keys=[caused_by_id])
    systems: Mapped[list[System]] = relationship(secondary=incident_systems)
    grade_changes: Mapped[list[GradeChange]] = relationship(
        back_populates="incident", order_by="GradeChange.id"
    )

    @property
    def impact(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.impact_json or "{}")
        return loaded

    @property
    def suggestion(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.suggestion_json or "{}")
        return loaded

    @property
    def is_open(self) -> bool:
        return self.status not in ("resolved", "closed")


class GradeChange(Base):
    """Every grade an incident has had, with the reason and who set it."""

    __tablename__ = "grade_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    from_grade: Mapped[str | None] = mapped_column(String(32))
    to_grade: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    incident: Mapped[Incident] = relationship(back_populates="grade_changes")
