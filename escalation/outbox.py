"""Delivering the outbox: claim with a lease, send outside the transaction, write back.

1. **Claim** (one short transaction): rows that are ``pending`` and due, or ``sending``
   with a lapsed lease (the worker holding them died), ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL. Each becomes ``sending`` under a fresh lease token until ``now + lease``,
   and an attempt row is written before anything is sent (STYLE.md 6). A lapsed claim's
   open attempt is closed as ``lease_expired``.
2. **Send**, with no transaction open: ``channel.send(message)``.
3. **Write back** (one transaction per few sends, and at once after a failure), each
   notification only if its lease token still matches — a worker that stalled past its
   lease cannot overwrite the one that took over. Sent: done. A temporary error:
   ``pending`` again after exponential backoff (``backoff_base × 2^(attempt-1)``, at
   most an hour) or after the channel's ``retry_after``; after ``max_attempts`` it
   fails. A permanent error: the destination is disabled with the reason, and the
   notification fails. A failed notification falls back: the same person's in-app inbox
   (always), and the next person up the chain.

Delivery is at least once: a worker killed after the far end accepted a message but
before the write-back sends it again after the lease. Never twice per (timer, person,
channel) row, and the inbox channel is idempotent per notification.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy
from escalation.channels.base import Channel, ChannelError, OutgoingMessage, accepting
from escalation.fallback import fall_back
from escalation.models import (
    QUEUED_NOTIFICATION,
    DeliveryAttempt,
    Destination,
    Notification,
)
from incidents.audit import record, system_actor
from incidents.clock import Clock
from incidents.org import Person

MAX_BACKOFF = timedelta(hours=1)


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    fallbacks: int = 0
    more: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    notification_id: int
    token: str
    channel: str
    message: OutgoingMessage
    skip_reason: str = ""


@dataclass(frozen=True)
class _Outcome:
    kind: str  # sent | temporary | permanent | skipped
    error: str = ""
    external_id: str | None = None
    retry_after: float | None = None


def backoff(policy: Policy, attempt: int) -> timedelta:
    """Delay before retry number ``attempt`` (1-based) of a temporary failure."""
    delay: timedelta = policy.outbox.backoff_base * (2 ** max(attempt - 1, 0))
    return min(delay, MAX_BACKOFF)


def _message(
    n: Notification, person: Person | None, address: str, secret: str = ""
) -> OutgoingMessage:
    payload = n.payload
    about = payload.get("obligation") or payload.get("deadline") or {}
    due = about.get("due_at")
    return OutgoingMessage(
        notification_id=n.id,
        incident_id=n.incident_id,
        incident_number=str(payload.get("number", "")),
        grade=str(payload.get("grade", "")),
        category=str(payload.get("category", "")),
        title=str(payload.get("title", "")),
        recipient_person_id=person.id if person is not None else None,
        recipient_login=person.login if person is not None else "",
        recipient_language=person.language if person is not None else "zh_CN",
        destination_address=address,
        kind=n.kind,
        text_zh=n.text_zh,
        text_en=n.text_en,
        link_path=str(payload.get("link_path", f"/incidents/{n.incident_id}")),
        deadline_name=about.get("name"),
        deadline_title_zh=about.get("title_zh"),
        deadline_title_en=about.get("title_en"),
        deadline_at=datetime.fromisoformat(due) if due else None,
        step=payload.get("step"),
        attempt=n.attempts,
        receipt_id=n.receipt_id,
        report_id=payload.get("report_id"),
        destination_secret=secret,
    )


def _claim(
    session: Session,
    *,
    now: datetime,
    worker_id: str,
    batch: int,
    lease: timedelta,
    held_elsewhere: Sequence[str] = (),
) -> list[_Claim]:
    stmt = (
        select(Notification)
        .where(
            text(f"notification.{QUEUED_NOTIFICATION}"),
            Notification.next_attempt_at <= now,
            # Rows of a channel that another process is sending for (the Telegram bot's
            # sender lock) are left to it. A kind no worker has stays claimable, so a
            # misconfiguration ends in retries and a fallback, never in silence.
            Notification.channel.not_in(held_elsewhere),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    if not rows:
        return []
    people = {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_({n.person_id for n in rows})))
    }
    dest_ids = {n.destination_id for n in rows if n.destination_id is not None}
    dests = (
        {d.id: d for d in session.scalars(select(Destination).where(Destination.id.in_(dest_ids)))}
        if dest_ids
        else {}
    )
    claims: list[_Claim] = []
    for n in rows:
        if n.status == "sending":
            session.execute(
                update(DeliveryAttempt)
                .where(
                    DeliveryAttempt.notification_id == n.id,
                    DeliveryAttempt.lease_token == n.lease_token,
                    DeliveryAttempt.outcome == "sending",
                )
                .values(
                    outcome="lease_expired",
                    finished_at=now,
                    error=f"lease held by {n.leased_by} lapsed",
                )
                .execution_options(synchronize_session=False)
            )
        token = uuid.uuid4().hex
        n.status = "sending"
        n.attempts += 1
        n.lease_token = token
        n.leased_by = worker_id
        n.next_attempt_at = now + lease
        n.updated_at = now
        session.add(
            DeliveryAttempt(
                notification_id=n.id,
                number=n.attempts,
                worker_id=worker_id,
                lease_token=token,
                started_at=now,
                outcome="sending",
                error="",
            )
        )
        person = people.get(n.person_id) if n.person_id is not None else None
        dest = dests.get(n.destination_id) if n.destination_id is not None else None
        skip = ""
        if dest is not None and not dest.enabled:
            skip = f"destination disabled: {dest.disabled_reason}"
        elif person is not None and not person.active:
            skip = "the person is no longer active"
        elif person is None and dest is None:
            skip = "a group notice without its destination"
        address = dest.address if dest is not None else (person.login if person else "")
        message = _message(n, person, address, dest.secret if dest is not None else "")
        claims.append(_Claim(n.id, token, n.channel, message, skip))
    return claims


def _send(claim: _Claim, channels: Mapping[str, Channel]) -> _Outcome:
    if claim.skip_reason:
        return _Outcome("skipped", claim.skip_reason)
    channel = channels.get(claim.channel)
    if channel is None:
        return _Outcome("temporary", f"no {claim.channel!r} channel is configured in this worker")
    try:
        receipt = channel.send(claim.message)
    except ChannelError as exc:
        return _Outcome(
            "permanent" if exc.permanent else "temporary", exc.reason, retry_after=exc.retry_after
        )
    except Exception as exc:  # a channel bug must not stop delivery of the others
        return _Outcome("temporary", f"{type(exc).__name__}: {exc}")
    return _Outcome("sent", external_id=receipt.external_id)


def _write_back(
    session: Session,
    claim: _Claim,
    outcome: _Outcome,
    *,
    now: datetime,
    policy: Policy,
    result: DeliveryResult,
) -> None:
    n = session.scalars(
        select(Notification)
        .where(
            Notification.id == claim.notification_id,
            Notification.status == "sending",
            Notification.lease_token == claim.token,
        )
        .with_for_update()
    ).first()
    attempt_outcome = outcome.kind
    error = outcome.error
    if n is None:
        error = (error + "; " if error else "") + "lease lost before the result was written"
    session.execute(
        update(DeliveryAttempt)
        .where(
            DeliveryAttempt.notification_id == claim.notification_id,
            DeliveryAttempt.lease_token == claim.token,
        )
        .values(
            outcome=attempt_outcome, finished_at=now, error=error, external_id=outcome.external_id
        )
        .execution_options(synchronize_session=False)
    )
    if n is None:
        return
    n.lease_token = None
    n.updated_at = now
    if outcome.kind == "sent":
        n.status, n.sent_at, n.external_id, n.last_error = "sent", now, outcome.external_id, ""
        result.sent += 1
        return
    n.last_error = error
    if outcome.kind == "temporary" and n.attempts < policy.outbox.max_attempts:
        delay = (
            timedelta(seconds=max(outcome.retry_after, 0.0))
            if outcome.retry_after is not None
            else backoff(policy, n.attempts)
        )
        n.status, n.next_attempt_at = "pending", now + delay
        result.retried += 1
        return
    n.status = "failed"
    result.failed += 1
    reason = error
    if outcome.kind == "temporary":
        reason = f"gave up after {n.attempts} attempts: {error}"
    elif outcome.kind == "permanent" and n.destination_id is not None:
        changed = session.execute(
            update(Destination)
            .where(Destination.id == n.destination_id, Destination.enabled.is_(True))
            .values(enabled=False, disabled_reason=error, disabled_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            record(
                session,
                actor=system_actor("worker"),
                kind="destination.disabled",
                subject_type="destination",
                subject_id=n.destination_id,
                incident_id=n.incident_id,
                now=now,
                data={"person_id": n.person_id, "channel": n.channel, "reason": error},
            )
    session.flush()
    result.fallbacks += fall_back(session, n, reason, now)


def _write_back_sent(
    session: Session,
    sent: list[tuple[_Claim, _Outcome]],
    *,
    now: datetime,
    result: DeliveryResult,
) -> None:
    """The common case in two statements: each row marked sent if its lease still holds."""
    if not sent:
        return
    rows = [{"nid": c.notification_id, "tok": c.token, "ext": o.external_id} for c, o in sent]
    notes, attempts = Notification.__table__, DeliveryAttempt.__table__
    assert isinstance(notes, Table) and isinstance(attempts, Table)
    # Core statements: an executemany, not the ORM's bulk-by-primary-key mode.
    connection = session.connection()
    changed = connection.execute(
        update(notes)
        .where(
            notes.c.id == bindparam("nid"),
            notes.c.lease_token == bindparam("tok"),
            notes.c.status == "sending",
        )
        .values(
            status="sent",
            sent_at=now,
            external_id=bindparam("ext"),
            last_error="",
            lease_token=None,
            updated_at=now,
        ),
        rows,
    )
    connection.execute(
        update(attempts)
        .where(
            attempts.c.notification_id == bindparam("nid"),
            attempts.c.lease_token == bindparam("tok"),
        )
        .values(outcome="sent", finished_at=now, error="", external_id=bindparam("ext")),
        rows,
    )
    result.sent += max(int(changed.rowcount), 0)


def deliver(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    channels: Mapping[str, Channel],
    policy: Policy,
    worker_id: str,
    batch: int = 100,
    clock: Clock | None = None,
    write_back_every: int = 20,
) -> DeliveryResult:
    """Deliver up to ``batch`` due notifications (see the module doc).

    ``now`` times the claim; ``clock``, when given, times the write-backs (a batch of
    slow sends takes a while), otherwise ``now`` is used throughout. Results are
    written back after every ``write_back_every`` sends, and whenever a failure needs
    its fallback written, in one transaction each: fewer commits, and at most that many
    sends repeated if the worker dies in between.
    """
    result = DeliveryResult()
    held_elsewhere = [kind for kind, channel in channels.items() if not accepting(channel)]
    with session_factory() as session, session.begin():
        claims = _claim(
            session,
            now=now,
            worker_id=worker_id,
            batch=batch,
            lease=policy.outbox.lease,
            held_elsewhere=held_elsewhere,
        )
    result.claimed = len(claims)
    result.more = len(claims) == batch
    done: list[tuple[_Claim, _Outcome]] = []

    def write_back() -> None:
        if not done:
            return
        at = clock.now() if clock is not None else now
        with session_factory() as session, session.begin():
            _write_back_sent(
                session, [(c, o) for c, o in done if o.kind == "sent"], now=at, result=result
            )
            for claim, outcome in done:
                if outcome.kind != "sent":
                    _write_back(session, claim, outcome, now=at, policy=policy, result=result)
        done.clear()

    for claim in claims:
        outcome = _send(claim, channels)
        done.append((claim, outcome))
        if outcome.kind != "sent":
            result.errors.append(f"{claim.notification_id}: {outcome.error}")
        if outcome.kind != "sent" or len(done) >= write_back_every:
            write_back()
    write_back()
    return result
