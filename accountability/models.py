"""The accountability tables: cases, the facts entered for them, determinations, agreements.

One case per (incident, subject person). Everything a case rests on is kept as rows that
are only ever appended — every finding and override with its evidence or reason, every
determination with the facts snapshot and the rule version it used, every agreement of a
6(2) joint decision — so that a determination can be held against its evidence long after
(destroying evidence is itself a tier-4 offence, 5.4(c)). The case row carries the
current state of the workflow; its history is in the audit chain.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base, UTCDateTime
from incidents.models import Incident
from incidents.org import Department, Person

#: Case states, in workflow order. ``agreeing`` and ``approving`` are the two halves of a
#: 6(2) joint decision; ``decided`` means the decision is final and awaits execution.
CASE_STATUSES = (
    "open",
    "determined",
    "proposed",
    "agreeing",
    "approving",
    "decided",
    "executed",
    "closed",
    "waived",
)
#: States in which the case is settled for the incident's closure (issue item 5).
SETTLED_STATUSES = frozenset({"decided", "executed", "closed", "waived"})
#: States in which findings may still change and a new determination may be made.
UNDECIDED_STATUSES = frozenset({"open", "determined", "proposed", "agreeing", "approving"})

#: The three parties of a 6(2) joint decision.
PARTIES = ("security_office", "hr", "competent_department")


class Case(Base):
    """One subject's accountability for one incident, from findings to closure."""

    __tablename__ = "accountability_case"
    __table_args__ = (
        UniqueConstraint("incident_id", "subject_id", name="uq_accountability_case_subject"),
        Index("ix_accountability_case_status", "status", "id"),
        Index("ix_accountability_case_subject_executed", "subject_id", "executed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="RESTRICT"), index=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    # Why this person answers (Article 3), as found when the case was opened.
    subject_role: Mapped[str] = mapped_column(String(40))
    subject_clause: Mapped[str] = mapped_column(String(8))
    # The kind of reason (``accountability.subjects.BASES``).
    subject_basis: Mapped[str] = mapped_column(String(200), default="")
    # The department the subject answered from: it names the 6(2) parties.
    subject_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    version: Mapped[int] = mapped_column(Integer, default=1)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # The current determination, copied from its row for lists and filters.
    tier: Mapped[int | None] = mapped_column(Integer)
    uncovered: Mapped[bool] = mapped_column(Boolean, default=False)

    # The live proposal; ``round`` counts proposals so agreements bind to one of them.
    round: Mapped[int] = mapped_column(Integer, default=0)
    proposed_sanction: Mapped[str | None] = mapped_column(String(32))
    proposal_reason: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "6(1)" or "6(2)": who decides the proposed sanction (a proposal of none is 6(1)).
    decider_clause: Mapped[str | None] = mapped_column(String(8))

    # The decision: under 6(1) by a leading group member, under 6(2) approved by one.
    sanction: Mapped[str | None] = mapped_column(String(32))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Whether the determination behind the decision found the rules not implemented:
    # only such sanctions count towards a later 5.2(d) repeat.
    for_noncompliance: Mapped[bool] = mapped_column(Boolean, default=False)
    executed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Tier 4 is serious handling, and a referral to the police beside it where very
    # serious (5.4 严肃处理,情况十分严重者应报警处理); proposed with the sanction.
    police_referral: Mapped[bool] = mapped_column(Boolean, default=False)
    # Art. 4: 构成违法犯罪的由司法机关依法追究刑事责任 — where the conduct is a crime, the
    # case is referred to the judicial organs, whatever the tier.
    judicial_referral: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why the case is very serious, or why the conduct is a crime.
    referral_reason: Mapped[str] = mapped_column(Text, default="")
    # The police referral: reported -> executed -> closed.
    police_reported_on: Mapped[date | None] = mapped_column(Date)
    police_executed_on: Mapped[date | None] = mapped_column(Date)
    police_closed_on: Mapped[date | None] = mapped_column(Date)

    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The written justification the 5.4 closing sentence asks of a closure (or waiver)
    # with no sanction, or a milder one than the tier allows.
    justification: Mapped[str] = mapped_column(Text, default="")
    # Listed for the leading group as a possible perfunctory closure (敷衍结案).
    perfunctory: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    waived_reason: Mapped[str] = mapped_column(Text, default="")

    incident: Mapped[Incident] = relationship()
    subject: Mapped[Person] = relationship(foreign_keys=[subject_id])
    subject_department: Mapped[Department | None] = relationship()
    findings: Mapped[list[Finding]] = relationship(back_populates="case", order_by="Finding.id")
    determinations: Mapped[list[Determination]] = relationship(
        back_populates="case", order_by="Determination.id"
    )
    agreements: Mapped[list[Agreement]] = relationship(
        back_populates="case", order_by="Agreement.id"
    )

    @property
    def determination(self) -> Determination | None:
        """The latest determination, or None before the first."""
        return self.determinations[-1] if self.determinations else None

    @property
    def has_proposal(self) -> bool:
        return self.proposed_at is not None


class Finding(Base):
    """One fact entered for a case: an investigation finding or an override of a derived one.

    Never updated: a later row for the same fact supersedes an earlier one, and both stay.
    """

    __tablename__ = "accountability_finding"
    __table_args__ = (Index("ix_accountability_finding_case_fact", "case_id", "fact", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("accountability_case.id", ondelete="RESTRICT"))
    fact: Mapped[str] = mapped_column(String(40))
    value_json: Mapped[str] = mapped_column(Text)
    # An investigation finding carries its evidence; an override of a fact derived from
    # the record carries the reason the record is not to be followed.
    is_override: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="findings")
    recorded_by: Mapped[Person | None] = relationship()

    @property
    def value(self) -> object:
        loaded: object = json.loads(self.value_json)
        return loaded


class Determination(Base):
    """An Article 5 assessment of a case, stored with the facts it used and the rule version."""

    __tablename__ = "accountability_determination"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("accountability_case.id", ondelete="RESTRICT"), index=True
    )
    rule_version: Mapped[str] = mapped_column(String(40))
    facts_json: Mapped[str] = mapped_column(Text)
    # Where each fact came from (record, finding, override, default), as shown then.
    sources_json: Mapped[str] = mapped_column(Text, default="{}")
    assessment_json: Mapped[str] = mapped_column(Text)
    tier: Mapped[int] = mapped_column(Integer)
    determined_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    determined_at: Mapped[datetime] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="determinations")
    determined_by: Mapped[Person | None] = relationship()

    @property
    def facts(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.facts_json)
        return loaded

    @property
    def sources(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.sources_json or "{}")
        return loaded

    @property
    def assessment(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.assessment_json)
        return loaded


class Agreement(Base):
    """One party's answer to a 6(2) proposal: agreement, or disagreement with its reason."""

    __tablename__ = "accountability_agreement"
    __table_args__ = (
        UniqueConstraint("case_id", "round", "party", name="uq_accountability_agreement_party"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("accountability_case.id", ondelete="RESTRICT"))
    round: Mapped[int] = mapped_column(Integer)
    party: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    agreed: Mapped[bool] = mapped_column(Boolean)
    sanction: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="agreements")
    person: Mapped[Person] = relationship()
