"""The worker's handoff duty (交接班): when the duty officer changes, tell both of them.

Every ``CHECK_SECONDS`` the worker looks at the duty officer roster. When the person on
duty now took over from someone else within ``catch_up`` (the roster's resolved shift
pieces: a rotation's handoff at 08:30, or an override beginning), it writes the
:class:`~escalation.handoffs.DutyHandoff` row and, in the same transaction, two
bulletins (kind ``handoff``):

- to the incoming officer, the situation they take over — the open incidents (number,
  grade, status) and the reporting deadlines running (incident, obligation, due time,
  overdue or not), the first ``limit`` of each and "and N more" with the incident list's
  link;
- to the outgoing officer, a request to acknowledge the handoff (``/handoff`` or the
  web page ``/handoffs/<id>``).

A handoff not acknowledged ``ack_after`` after it was written is reminded once, to both.

Several workers and restarts are harmless: the row is unique per (role, shift start)
and only the transaction that inserted it writes the bulletins; the reminder is a
compare-and-set on ``reminded_at``; the bulletins' keys make each message once-only per
address. A worker down at 08:30 still hands over when it comes back, within
``catch_up``; past that the shift is left unrecorded rather than handed over hours late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from escalation.bulletins import queue_for_person
from escalation.duty_now import HORIZON
from escalation.handoffs import SUBJECT, DutyHandoff
from escalation.models import Obligation
from escalation.obligations import UNFULFILLED
from incidents import rosters
from incidents.audit import record, system_actor
from incidents.grading import GRADE_NAMES, GRADE_RANK
from incidents.lifecycle import OPEN_STATUSES, STATUS_NAMES
from incidents.models import Incident
from incidents.org import Person

logger = logging.getLogger(__name__)

CHECK_SECONDS = 60
ROLE = "duty_officer"
LIST_LIMIT = 20
INCIDENT_LIST = "/incidents?open=1"


@dataclass(frozen=True)
class OpenIncident:
    number: str
    grade: str
    status: str


@dataclass(frozen=True)
class RunningDeadline:
    number: str
    title_zh: str
    title_en: str
    due_at: datetime
    overdue: bool


@dataclass(frozen=True)
class Situation:
    """What the incoming officer takes over: the first ``limit`` of each, and the totals."""

    incidents: tuple[OpenIncident, ...]
    incidents_total: int
    deadlines: tuple[RunningDeadline, ...]
    deadlines_total: int


def situation(session: Session, now: datetime, *, limit: int = LIST_LIMIT) -> Situation:
    """Open incidents, gravest first; reports still owed on incidents not closed, soonest
    due first (a missed one is still owed until it is filed late)."""
    rank = case(GRADE_RANK, value=Incident.grade, else_=-1)
    open_ = Incident.status.in_(OPEN_STATUSES)
    incidents = session.execute(
        select(Incident.number, Incident.grade, Incident.status)
        .where(open_)
        .order_by(rank.desc(), Incident.detected_at, Incident.id)
        .limit(limit)
    ).all()
    incidents_total = int(
        session.scalar(select(func.count()).select_from(Incident).where(open_)) or 0
    )
    running = (
        Obligation.status.in_(UNFULFILLED),
        Obligation.due_at.is_not(None),
        Incident.status != "closed",
    )
    deadlines = session.execute(
        select(Incident.number, Obligation.title_zh, Obligation.title_en, Obligation.due_at)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(*running)
        .order_by(Obligation.due_at, Obligation.id)
        .limit(limit)
    ).all()
    deadlines_total = int(
        session.scalar(
            select(func.count())
            .select_from(Obligation)
            .join(Incident, Incident.id == Obligation.incident_id)
            .where(*running)
        )
        or 0
    )
    return Situation(
        tuple(OpenIncident(n, g, s) for n, g, s in incidents),
        incidents_total,
        tuple(
            RunningDeadline(n, zh, en, due, due <= now)
            for n, zh, en, due in deadlines
            if due is not None  # the query asks for a due time; this tells the type checker
        ),
        deadlines_total,
    )


# --- the messages ------------------------------------------------------------------------


def _at(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%m-%d %H:%M")


def _name(person: Person | None, none: str) -> str:
    return person.name if person is not None else none


def incoming_texts(
    sit: Situation,
    *,
    outgoing: Person | None,
    incoming: Person,
    ends_at: datetime,
    tz: ZoneInfo,
) -> tuple[str, str]:
    """The incoming officer's message in both languages (plain text: the channel adds
    the link to the incident list)."""
    zh = [
        f"【烽火交接班】值班员交接:{_name(outgoing, '(无人)')} → {incoming.name}",
        f"本班至 {_at(ends_at, tz)}",
        f"未结事件 {sit.incidents_total} 起" + (":" if sit.incidents else "。"),
    ]
    en = [
        f"[Fenghuo handoff] Duty officer: {_name(outgoing, '(nobody)')} → {incoming.name}",
        f"Your shift runs until {_at(ends_at, tz)}",
        f"Open incidents: {sit.incidents_total}",
    ]
    for i in sit.incidents:
        grade_zh, grade_en = GRADE_NAMES.get(i.grade, (i.grade, i.grade))
        status_zh, status_en = STATUS_NAMES.get(i.status, (i.status, i.status))
        zh.append(f"· {i.number} {grade_zh} {status_zh}")
        en.append(f"· {i.number} {grade_en} {status_en}")
    if sit.incidents_total > len(sit.incidents):
        more = sit.incidents_total - len(sit.incidents)
        zh.append(f"……另有 {more} 起,见事件列表")
        en.append(f"…and {more} more: see the incident list")
    zh.append(f"运行中的报告时限 {sit.deadlines_total} 项" + (":" if sit.deadlines else "。"))
    en.append(f"Reporting deadlines running: {sit.deadlines_total}")
    for d in sit.deadlines:
        zh.append(
            f"· {d.number} {d.title_zh} 截止 {_at(d.due_at, tz)}"
            + ("(已超时)" if d.overdue else "")
        )
        en.append(
            f"· {d.number} {d.title_en} due {_at(d.due_at, tz)}"
            + (" (overdue)" if d.overdue else "")
        )
    if sit.deadlines_total > len(sit.deadlines):
        more = sit.deadlines_total - len(sit.deadlines)
        zh.append(f"……另有 {more} 项,见事件列表")
        en.append(f"…and {more} more: see the incident list")
    zh.append("确认交接班:发送 /handoff,或在网页「交接班」页确认。")
    en.append("Acknowledge the handoff: send /handoff, or use the Handoffs page on the web.")
    return "\n".join(zh), "\n".join(en)


def outgoing_texts(handoff: DutyHandoff, incoming: Person, tz: ZoneInfo) -> tuple[str, str]:
    at = _at(handoff.shift_starts_at, tz)
    return (
        f"【烽火交接班】您的值班已于 {at} 交给 {incoming.name}。交接时未结事件 "
        f"{handoff.open_incidents} 起,运行中的报告时限 {handoff.running_deadlines} 项。"
        "请确认交接班:发送 /handoff,或打开下面的链接。",
        f"[Fenghuo handoff] Your duty passed to {incoming.name} at {at}, with "
        f"{handoff.open_incidents} open incidents and {handoff.running_deadlines} reporting "
        "deadlines running. Please acknowledge the handoff: send /handoff or open the link below.",
    )


def reminder_texts(handoff: DutyHandoff, tz: ZoneInfo) -> tuple[str, str]:
    at = _at(handoff.shift_starts_at, tz)
    out_zh = _name(handoff.outgoing, "(无人)")
    out_en = _name(handoff.outgoing, "(nobody)")
    return (
        f"【烽火交接班】{at} 的交接班({out_zh} → {handoff.incoming.name})尚未确认。"
        "请发送 /handoff,或打开下面的链接确认。",
        f"[Fenghuo handoff] The handoff of {at} ({out_en} → {handoff.incoming.name}) is not "
        "acknowledged yet. Send /handoff, or open the link below.",
    )


# --- the duty ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffOutcome:
    handoff_id: int | None = None  # the handoff this run wrote, if any
    reminded: int = 0


@dataclass
class HandoffDuty:
    tz: ZoneInfo
    ack_after: timedelta = timedelta(minutes=30)
    catch_up: timedelta = timedelta(hours=12)
    role: str = ROLE
    limit: int = LIST_LIMIT

    def run(self, factory: sessionmaker[Session], now: datetime) -> HandoffOutcome:
        """Write the handoff of the shift that began, if one did and none is written;
        remind the handoffs left unacknowledged."""
        with factory() as session, session.begin():
            handoff_id = self.hand_over(session, now)
        with factory() as session, session.begin():
            reminded = self.remind(session, now)
        return HandoffOutcome(handoff_id, reminded)

    def hand_over(self, session: Session, now: datetime) -> int | None:
        pieces = rosters.shifts_between(session, self.role, now - self.catch_up, now + HORIZON)
        current = next((i for i, p in enumerate(pieces) if p.starts_at <= now < p.ends_at), None)
        if not current:  # none holds now, or the one that does began before the window
            return None
        piece, before = pieces[current], pieces[current - 1]
        if piece.person_id is None or before.person_id == piece.person_id:
            return None
        exists = session.scalar(
            select(DutyHandoff.id).where(
                DutyHandoff.role == self.role, DutyHandoff.shift_starts_at == piece.starts_at
            )
        )
        incoming = session.get(Person, piece.person_id)
        if exists is not None or incoming is None or not incoming.active:
            return None
        outgoing = session.get(Person, before.person_id) if before.person_id else None
        sit = situation(session, now, limit=self.limit)
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        handoff_id: int | None = session.scalar(
            insert(DutyHandoff)
            .values(
                role=self.role,
                shift_starts_at=piece.starts_at,
                shift_ends_at=piece.ends_at,
                outgoing_id=outgoing.id if outgoing is not None else None,
                incoming_id=incoming.id,
                open_incidents=sit.incidents_total,
                running_deadlines=sit.deadlines_total,
                created_at=now,
                acknowledged_via="",
            )
            .on_conflict_do_nothing(index_elements=["role", "shift_starts_at"])
            .returning(DutyHandoff.id)
        )
        if handoff_id is None:
            return None  # another worker wrote it first
        handoff = session.get(DutyHandoff, handoff_id)
        assert handoff is not None
        record(
            session,
            actor=system_actor("worker"),
            kind="handoff.opened",
            subject_type=SUBJECT,
            subject_id=handoff_id,
            data={
                "role": self.role,
                "shift_starts_at": piece.starts_at.isoformat(),
                "shift_ends_at": piece.ends_at.isoformat(),
                "outgoing_id": handoff.outgoing_id,
                "incoming_id": incoming.id,
                "open_incidents": sit.incidents_total,
                "running_deadlines": sit.deadlines_total,
            },
            now=now,
        )
        zh, en = incoming_texts(
            sit, outgoing=outgoing, incoming=incoming, ends_at=piece.ends_at, tz=self.tz
        )
        told = queue_for_person(
            session,
            person_id=incoming.id,
            kind="handoff",
            key=f"handoff:{handoff_id}:in",
            text_zh=zh,
            text_en=en,
            now=now,
            link_path=INCIDENT_LIST,
        )
        if outgoing is not None:
            zh, en = outgoing_texts(handoff, incoming, self.tz)
            told += queue_for_person(
                session,
                person_id=outgoing.id,
                kind="handoff",
                key=f"handoff:{handoff_id}:out",
                text_zh=zh,
                text_en=en,
                now=now,
                link_path=f"/handoffs/{handoff_id}",
            )
        logger.info("duty handoff %s written; %d bulletins", handoff_id, told)
        return handoff_id

    def remind(self, session: Session, now: datetime) -> int:
        """Remind, once, each handoff unacknowledged ``ack_after`` after it was written."""
        due = session.scalars(
            select(DutyHandoff.id)
            .where(
                DutyHandoff.acknowledged_at.is_(None),
                DutyHandoff.reminded_at.is_(None),
                DutyHandoff.created_at <= now - self.ack_after,
            )
            .order_by(DutyHandoff.id)
            .limit(20)
        ).all()
        reminded = 0
        for handoff_id in due:
            claimed = session.execute(
                update(DutyHandoff)
                .where(
                    DutyHandoff.id == handoff_id,
                    DutyHandoff.acknowledged_at.is_(None),
                    DutyHandoff.reminded_at.is_(None),
                )
                .values(reminded_at=now)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue
            handoff = session.get(DutyHandoff, handoff_id)
            assert handoff is not None
            zh, en = reminder_texts(handoff, self.tz)
            for person_id in {handoff.outgoing_id, handoff.incoming_id} - {None}:
                assert person_id is not None
                queue_for_person(
                    session,
                    person_id=person_id,
                    kind="handoff",
                    key=f"handoff:{handoff_id}:remind",
                    text_zh=zh,
                    text_en=en,
                    now=now,
                    link_path=f"/handoffs/{handoff_id}",
                )
            reminded += 1
        return reminded
