"""The sender's bookkeeping: what a notification says, the copies sent, the edits owed.

Every alert the bot sends is recorded (chat, message id, incident, notification, the
chain it pages for), so that when that chain is acknowledged — from Telegram, the web,
the API or the command line — every copy can be edited to say who acknowledged and
when. The edits are derived from the database (copies whose chain is acknowledged and
that were not edited yet), not from a message, so none is lost to a restart or an
outage, and each copy is edited once (compare-and-set on ``acknowledged_at``).

Group chats linked to a role or a department get a copy of each page, warning and
breach that concerns them: a timer whose recipients include the role, or an incident
the department is responsible for. One copy per (group, timer).

Everything here is synchronous SQLAlchemy; the channel calls it from its own threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, insert, select, update
from sqlalchemy.orm import Session

from escalation.chains import latest_chain
from escalation.models import EscalationChain, Notification, Timer
from escalation.telegram.messages import AlertFacts, Deadline
from escalation.telegram.models import TelegramGroup, TelegramMessage
from incidents.models import Incident
from incidents.org import Person

ALERT_KINDS = ("step", "warning", "breach")
# Groups get copies of timers fired within this window of the sender's first look, so
# a sender that starts after an outage still posts what fired meanwhile.
GROUP_LOOKBACK = timedelta(hours=1)


@dataclass(frozen=True)
class SendContext:
    """What the channel needs to render and record one notification."""

    facts: AlertFacts
    language: str
    incident_id: int
    timer_id: int | None
    chain_id: int | None


def _deadline(payload: dict[str, object], kind: str) -> Deadline | None:
    raw = payload.get("obligation") if kind in ("warning", "breach") else None
    raw = raw or payload.get("deadline")
    if not isinstance(raw, dict) or not raw.get("due_at"):
        return None
    return Deadline(
        str(raw.get("title_zh", "")),
        str(raw.get("title_en", "")),
        datetime.fromisoformat(str(raw["due_at"])),
    )


def _chain_for(session: Session, timer: Timer | None, incident_id: int) -> int | None:
    if timer is not None and timer.chain_id is not None:
        return timer.chain_id
    chain = latest_chain(session, incident_id)
    return chain.id if chain is not None else None


def timer_and_chain(
    session: Session, notification_id: int, incident_id: int
) -> tuple[int | None, int | None]:
    """The timer a notification was written for and the chain run it asks to acknowledge."""
    note = session.get(Notification, notification_id)
    timer = session.get(Timer, note.timer_id) if note is not None else None
    return (timer.id if timer else None), _chain_for(session, timer, incident_id)


def context_for(session: Session, notification_id: int) -> SendContext:
    """Facts frozen in the notification's payload when it was written, plus who it is for."""
    note = session.get(Notification, notification_id)
    if note is None:
        raise LookupError(f"no notification {notification_id}")
    payload = note.payload
    incident = session.get(Incident, note.incident_id)
    person = session.get(Person, note.person_id)
    timer = session.get(Timer, note.timer_id)
    facts = AlertFacts(
        incident_id=note.incident_id,
        number=str(payload.get("number") or (incident.number if incident else "")),
        grade=str(payload.get("grade") or (incident.grade if incident else "")),
        category=str(payload.get("category") or (incident.category if incident else "")),
        title=str(payload.get("title") or (incident.title if incident else "")),
        kind=note.kind,
        status=incident.status if incident is not None else "",
        deadline=_deadline(payload, note.kind),
    )
    return SendContext(
        facts=facts,
        language=person.language if person is not None else "zh_CN",
        incident_id=note.incident_id,
        timer_id=note.timer_id,
        chain_id=_chain_for(session, timer, note.incident_id),
    )


def existing_copy(session: Session, notification_id: int, chat_id: int) -> TelegramMessage | None:
    """A copy already sent for this notification to this chat (a retry after a crash)."""
    return session.scalars(
        select(TelegramMessage).where(
            TelegramMessage.notification_id == notification_id,
            TelegramMessage.chat_id == chat_id,
        )
    ).first()


def record_copy(
    session: Session,
    *,
    chat_id: int,
    message_id: int,
    context: SendContext,
    notification_id: int | None,
    text: str,
    now: datetime,
) -> TelegramMessage:
    timer_id, chain_id = context.timer_id, context.chain_id
    if timer_id is None and notification_id is not None:
        timer_id, chain_id = timer_and_chain(session, notification_id, context.incident_id)
    row = TelegramMessage(
        chat_id=chat_id,
        message_id=message_id,
        incident_id=context.incident_id,
        notification_id=notification_id,
        timer_id=timer_id,
        chain_id=chain_id,
        kind=context.facts.kind,
        language=context.language,
        text=text,
        sent_at=now,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class NewCopy:
    """A message just sent for a notification, to be recorded with others."""

    chat_id: int
    message_id: int
    context: SendContext
    notification_id: int
    text: str


def record_copies(session: Session, sent: list[NewCopy], *, now: datetime) -> None:
    """Record a batch's copies in one go: the timers and chains of their notifications
    looked up in one query (the latest chain once per incident), one INSERT."""
    if not sent:
        return
    ids = {c.notification_id for c in sent}
    timers: dict[int, tuple[int | None, int | None]] = {
        nid: (timer_id, chain_id)
        for nid, timer_id, chain_id in session.execute(
            select(Notification.id, Timer.id, Timer.chain_id)
            .outerjoin(Timer, Timer.id == Notification.timer_id)
            .where(Notification.id.in_(ids))
        )
    }
    latest: dict[int, int | None] = {}
    rows = []
    for c in sent:
        timer_id, chain_id = c.context.timer_id, c.context.chain_id
        if timer_id is None:
            timer_id, chain_id = timers.get(c.notification_id, (None, None))
        if chain_id is None:
            if c.context.incident_id not in latest:
                chain = latest_chain(session, c.context.incident_id)
                latest[c.context.incident_id] = chain.id if chain is not None else None
            chain_id = latest[c.context.incident_id]
        rows.append(
            {
                "chat_id": c.chat_id,
                "message_id": c.message_id,
                "incident_id": c.context.incident_id,
                "notification_id": c.notification_id,
                "timer_id": timer_id,
                "chain_id": chain_id,
                "kind": c.context.facts.kind,
                "language": c.context.language,
                "text": c.text,
                "sent_at": now,
            }
        )
    session.execute(insert(TelegramMessage), rows)


def existing_copies(
    session: Session, wanted: list[tuple[int, int]]
) -> dict[tuple[int, int], TelegramMessage]:
    """Copies already sent for these (notification, chat) pairs (retries after a crash)."""
    if not wanted:
        return {}
    pairs = set(wanted)
    found = session.scalars(
        select(TelegramMessage).where(
            TelegramMessage.notification_id.in_({nid for nid, _ in pairs})
        )
    )
    return {
        (m.notification_id, m.chat_id): m
        for m in found
        if m.notification_id is not None and (m.notification_id, m.chat_id) in pairs
    }


@dataclass(frozen=True)
class CopyEdit:
    """A copy whose chain was acknowledged: edit it to say by whom and when."""

    copy_id: int
    chat_id: int
    message_id: int
    incident_id: int
    language: str
    text: str
    who: str
    at: datetime


def edits_owed(
    session: Session,
    *,
    chat_id: int | None = None,
    incident_id: int | None = None,
    limit: int = 100,
) -> list[CopyEdit]:
    """Alert copies not yet edited whose chain has been acknowledged."""
    stmt = (
        select(TelegramMessage, EscalationChain.acknowledged_at, Person.name)
        .join(EscalationChain, EscalationChain.id == TelegramMessage.chain_id)
        .outerjoin(Person, Person.id == EscalationChain.acknowledged_by_id)
        .where(
            TelegramMessage.acknowledged_at.is_(None),
            TelegramMessage.kind.in_(ALERT_KINDS),
            EscalationChain.acknowledged_at.is_not(None),
        )
        .order_by(TelegramMessage.id)
        .limit(limit)
    )
    if chat_id is not None:
        stmt = stmt.where(TelegramMessage.chat_id == chat_id)
    if incident_id is not None:
        stmt = stmt.where(TelegramMessage.incident_id == incident_id)
    out = []
    for row, at, name in session.execute(stmt).all():
        assert at is not None  # the query asks for acknowledged chains only
        out.append(
            CopyEdit(
                row.id,
                row.chat_id,
                row.message_id,
                row.incident_id,
                row.language,
                row.text,
                name or "—",
                at,
            )
        )
    return out


def mark_edited(session: Session, copy_id: int, now: datetime) -> bool:
    """Compare-and-set: True for the one caller that marks the copy edited."""
    result = session.execute(
        update(TelegramMessage)
        .where(TelegramMessage.id == copy_id, TelegramMessage.acknowledged_at.is_(None))
        .values(acknowledged_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GroupPost:
    """A fired timer a linked group should see, not posted there yet."""

    group_id: int
    chat_id: int
    message_thread_id: int | None
    language: str
    timer_id: int
    notification_id: int | None


def group_posts_owed(session: Session, *, since: datetime, limit: int = 100) -> list[GroupPost]:
    """Pages, warnings and breaches fired since ``since`` that concern a linked group and
    have no copy in it yet."""
    groups = list(session.scalars(select(TelegramGroup).where(TelegramGroup.enabled.is_(True))))
    if not groups:
        return []
    timers = session.execute(
        select(Timer, Incident.responsible_department_id)
        .join(Incident, Incident.id == Timer.incident_id)
        .where(
            Timer.status == "fired",
            Timer.kind.in_(ALERT_KINDS),
            Timer.fired_at >= since,
        )
        .order_by(Timer.id)
    ).all()
    owed: list[GroupPost] = []
    for timer, department_id in timers:
        targets = {str(r.get("target")) for r in timer.recipients}
        for group in groups:
            concerned = (group.role is not None and group.role in targets) or (
                group.department_id is not None and group.department_id == department_id
            )
            if not concerned or _posted(session, group.chat_id, timer.id):
                continue
            note_id = session.scalar(
                select(Notification.id).where(Notification.timer_id == timer.id).limit(1)
            )
            owed.append(
                GroupPost(
                    group.id,
                    group.chat_id,
                    group.message_thread_id,
                    group.language,
                    timer.id,
                    note_id,
                )
            )
            if len(owed) >= limit:
                return owed
    return owed


def _posted(session: Session, chat_id: int, timer_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    TelegramMessage.chat_id == chat_id, TelegramMessage.timer_id == timer_id
                )
            )
        )
    )


def group_context(session: Session, post: GroupPost) -> SendContext | None:
    """The context of a group copy: the timer's notice, in the group's language."""
    if post.notification_id is not None:
        ctx = context_for(session, post.notification_id)
        return SendContext(ctx.facts, post.language, ctx.incident_id, post.timer_id, ctx.chain_id)
    timer = session.get(Timer, post.timer_id)
    incident = session.get(Incident, timer.incident_id) if timer is not None else None
    if timer is None or incident is None:
        return None
    facts = AlertFacts(
        incident_id=incident.id,
        number=incident.number,
        grade=incident.grade,
        category=incident.category,
        title=incident.title,
        kind=timer.kind,
        status=incident.status,
    )
    return SendContext(
        facts, post.language, incident.id, timer.id, _chain_for(session, timer, incident.id)
    )


def disable_group(session: Session, chat_id: int, reason: str, now: datetime) -> None:
    session.execute(
        update(TelegramGroup)
        .where(TelegramGroup.chat_id == chat_id)
        .values(enabled=False, disabled_reason=reason[:200])
        .execution_options(synchronize_session=False)
    )
