"""Duty handoffs (交接班): the record of each duty officer shift changing hands.

Not to be confused with ``escalation.handover``, which hands an undelivered *notice* on
to the next destination or person. This module is about people: when the roster's duty
officer changes, the worker (``escalation.handoff_watch``) writes one
:class:`DutyHandoff` row — the shift, the outgoing and the incoming officer, and how many
incidents were open and deadlines running at that moment — and tells both of them.

The row is unique per (role, shift start), so several workers and restarts write it
once. It is acknowledged once (:func:`acknowledge_handoff`), by compare-and-set, by the
outgoing or the incoming officer, from Telegram (``/handoff``) or the web; the audit
chain says who and through which face. A second acknowledgement changes nothing and
says who acknowledged first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from incidents.audit import Actor, record
from incidents.db import Base, UTCDateTime
from incidents.errors import Forbidden, NotFound
from incidents.org import Person

SUBJECT = "duty_handoff"


class DutyHandoff(Base):
    __tablename__ = "duty_handoff"
    __table_args__ = (
        UniqueConstraint("role", "shift_starts_at", name="uq_duty_handoff_shift"),
        Index("ix_duty_handoff_outgoing", "outgoing_id", "id"),
        Index("ix_duty_handoff_incoming", "incoming_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    shift_starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    shift_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outgoing_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    incoming_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    # The situation handed over, counted when the shift changed hands.
    open_incidents: Mapped[int] = mapped_column(Integer)
    running_deadlines: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    acknowledged_via: Mapped[str] = mapped_column(String(16), default="")
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    outgoing: Mapped[Person | None] = relationship(foreign_keys=[outgoing_id])
    incoming: Mapped[Person] = relationship(foreign_keys=[incoming_id])
    acknowledged_by: Mapped[Person | None] = relationship(foreign_keys=[acknowledged_by_id])

    def is_party(self, person_id: int | None) -> bool:
        return person_id is not None and person_id in (self.outgoing_id, self.incoming_id)


@dataclass(frozen=True)
class Acknowledged:
    handoff: DutyHandoff
    changed: bool  # False: someone had acknowledged it already


def acknowledge_handoff(
    session: Session, *, handoff_id: int, actor: Actor, now: datetime
) -> Acknowledged:
    """The outgoing or incoming officer acknowledges the handoff (交接班), once.

    Raises ``NotFound`` for no such handoff and ``Forbidden`` for anyone else. A second
    acknowledgement returns ``changed=False`` and writes nothing.
    """
    handoff = session.get(DutyHandoff, handoff_id)
    if handoff is None:
        raise NotFound(
            "no handoff %(id)s",
            field="handoff_id",
            code="handoff.unknown",
            params={"id": handoff_id},
        )
    if not handoff.is_party(actor.person_id):
        raise Forbidden(
            "only the outgoing or the incoming duty officer acknowledges a handoff",
            field="handoff_id",
            code="handoff.not_party",
        )
    result = session.execute(
        update(DutyHandoff)
        .where(DutyHandoff.id == handoff_id, DutyHandoff.acknowledged_at.is_(None))
        .values(
            acknowledged_at=now, acknowledged_by_id=actor.person_id, acknowledged_via=actor.source
        )
    )
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    session.refresh(handoff)
    if changed:
        record(
            session,
            actor=actor,
            kind="handoff.acknowledged",
            subject_type=SUBJECT,
            subject_id=handoff.id,
            data={
                "role": handoff.role,
                "shift_starts_at": handoff.shift_starts_at.isoformat(),
                "outgoing_id": handoff.outgoing_id,
                "incoming_id": handoff.incoming_id,
                "open_incidents": handoff.open_incidents,
                "running_deadlines": handoff.running_deadlines,
                "by": actor.person_id,
                "source": actor.source,
            },
            now=now,
        )
    return Acknowledged(handoff, changed)


def latest_for(session: Session, person_id: int) -> DutyHandoff | None:
    """The newest handoff the person gave or took."""
    return session.scalars(
        select(DutyHandoff)
        .where(or_(DutyHandoff.outgoing_id == person_id, DutyHandoff.incoming_id == person_id))
        .order_by(DutyHandoff.shift_starts_at.desc(), DutyHandoff.id.desc())
        .limit(1)
    ).first()


def recent(session: Session, *, limit: int = 50) -> list[DutyHandoff]:
    """The newest handoffs, newest first (the web's list)."""
    return list(
        session.scalars(
            select(DutyHandoff)
            .order_by(DutyHandoff.shift_starts_at.desc(), DutyHandoff.id.desc())
            .limit(limit)
        )
    )
