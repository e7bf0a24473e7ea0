"""Delivering the outbox: claim with a lease, send, write back — before the next send.

1. **Claim** (one short transaction, a few rows of one channel): rows whose lease
   lapsed (``sending``, ``next_attempt_at`` passed: the worker holding them died) before
   any ``pending`` one, so a dead worker's rows are taken over at the first round after
   their lease, not after the backlog; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL. Each
   becomes ``sending`` under a fresh lease token, and an attempt row is written before
   anything is sent (STYLE.md 6). A lapsed claim's open attempt is closed as
   ``lease_expired``. The lease of a row restarts when *its* send starts (``now +
   lease``), never while it waits behind others' sends, and it is at least the
   channel's own ``timeout`` plus :data:`LEASE_MARGIN`, so a slow send is never taken
   over while it may still succeed.
2. **Send**, with no transaction open: ``channel.send(message)``.
3. **Write back** (one short transaction) before the next send, only if the lease token
   still matches — a worker that stalled past its lease cannot overwrite the one that
   took over. A worker killed mid-send therefore repeats at most the one message it had
   in flight. (Idempotent channels — the inbox, Telegram, which recognises a notice it
   posted before — are written back a few at a time: repeating them delivers nothing
   twice.) Sent: done (the fallback clock stops). A flood wait (``ChannelError`` with
   ``retry_after``: Telegram's RetryAfter, a robot's throttle, the local flood limiter,
   the sender lock held elsewhere): ``pending`` again after that wait, *not* counted
   against ``max_attempts``. Another temporary error: ``pending`` again after
   exponential backoff (``backoff_base × 2^(attempt-1)``, at most :data:`MAX_BACKOFF`);
   after ``max_attempts`` it fails. A permanent error: the destination is disabled with
   the reason, and the notification fails. A failed notification is handed on at once
   (``escalation.handover``: the person's next destination, then the next person up);
   one still unsent after ``fallback_after`` is handed on by the round's hand-over
   sweep, while it keeps retrying here.

Rows are taken a channel at a time in turn (``inbox``, ``telegram``, … and one lane for
kinds this worker has no channel for), and a channel whose send failed with a temporary
error is not tried again in the same call: one unreachable service costs one timeout per
call, and the other channels' rows — the email a fallback just wrote — do not wait
behind it.

Delivery is at least once: a worker killed after the far end accepted a message but
before the write-back sends it again after the lease. Never twice per (timer, person,
channel) row, and the inbox channel is idempotent per notification.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Select, Table, bindparam, case, delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy
from escalation.channels.base import Channel, ChannelError, OutgoingMessage, accepting
from escalation.handover import hand_on, handed_on
from escalation.models import (
    LEASED_NOTIFICATION,
    QUEUED_NOTIFICATION,
    DeliveryAttempt,
    Destination,
    Notification,
)
from incidents.audit import record, system_actor
from incidents.clock import Clock
from incidents.org import Person

# The longest pause between two retries of a temporary failure. The notice does not
# wait for it: it is handed on after ``fallback_after`` whatever the backoff.
MAX_BACKOFF = timedelta(minutes=10)
# A lease outlives the channel's own timeout by this much.
LEASE_MARGIN = timedelta(seconds=5)
# Rows of one channel claimed at a time; each one's lease restarts when its send starts.
CLAIM_SIZE = 10
# Outcomes of idempotent channels' sends written back this many at a time.
WRITE_BACK_EVERY = 20
INBOX = "inbox"


def idempotent(channel: Channel | None) -> bool:
    """Whether sending a notification again (after a crash) delivers nothing twice: the
    inbox (one item per notification) and channels that say so with ``idempotent =
    True`` (Telegram finds the copy it recorded after the first send)."""
    return channel is not None and (
        channel.kind == INBOX or getattr(channel, "idempotent", False) is True
    )


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    delayed: int = 0
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
    leased_until: datetime | None = None


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


def lease_for(policy: Policy, channel: Channel | None) -> timedelta:
    """The lease of one send on ``channel``: the policy's, or longer than the channel's
    own timeout (``channel.timeout`` seconds, where it says) by :data:`LEASE_MARGIN`."""
    timeout = getattr(channel, "timeout", None)
    if isinstance(timeout, int | float) and timeout > 0:
        return max(policy.outbox.lease, timedelta(seconds=float(timeout)) + LEASE_MARGIN)
    return policy.outbox.lease


def delivery_bound(policy: Policy, *, sweep: timedelta, timeouts: Sequence[float]) -> timedelta:
    """The worst case from a notice falling due to its being handed to a working channel
    of the next destination (or of the next person up), with one worker dying mid-send
    on the way; ``sweep`` is the worker's interval, ``timeouts`` each channel's per-send
    timeout in seconds. docs/escalation.md ("How long delivery can take") derives it:

    ``gap = 2·sweep + T_max`` (between two rounds' starts: a round sends for 0.8·sweep,
    plus the send in flight, and the scheduler wakes at the next tick);
    ``bound = gap + fallback_after + gap + ΣT + lease + gap + ΣT`` — fired by the first
    round after it is due, handed on by the first round after ``fallback_after``, sent in
    that round after at most one send per channel, and if that sender dies, taken over by
    the first round after the lease (the longest lease of the channels) and sent again.
    """
    t_max = timedelta(seconds=max(timeouts, default=0.0))
    t_sum = timedelta(seconds=sum(timeouts))
    gap = 2 * sweep + t_max
    lease = max(policy.outbox.lease, t_max + LEASE_MARGIN)
    return gap + policy.outbox.fallback_after + gap + t_sum + lease + gap + t_sum


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
    channel: str | None = None,
    other_than: Sequence[str] = (),
) -> list[_Claim]:
    """Claim up to ``batch`` due rows, lapsed leases first: of ``channel`` only when
    given, else of any kind but ``held_elsewhere`` and ``other_than``."""

    def due(queue: str) -> Select[Notification]:
        stmt = select(Notification).where(text(f"notification.{queue}"))
        stmt = stmt.where(Notification.next_attempt_at <= now)
        if channel is not None:
            stmt = stmt.where(Notification.channel == channel)
        # Rows of a channel that another process is sending for (the Telegram bot's
        # sender lock) are left to it. A kind no worker has stays claimable, so a
        # misconfiguration ends in retries and a hand-over, never in silence.
        excluded = [*held_elsewhere, *other_than]
        if excluded:
            stmt = stmt.where(Notification.channel.not_in(excluded))
        return stmt.order_by(Notification.next_attempt_at, Notification.id)

    postgres = session.get_bind().dialect.name == "postgresql"
    rows: list[Notification] = []
    for queue in (LEASED_NOTIFICATION, QUEUED_NOTIFICATION):
        if len(rows) >= batch:
            break
        stmt = due(queue)
        if rows:
            stmt = stmt.where(Notification.id.not_in([n.id for n in rows]))
        stmt = stmt.limit(batch - len(rows))
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows.extend(session.scalars(stmt))
    if not rows:
        return []
    person_ids = {n.person_id for n in rows if n.person_id is not None}
    people = (
        {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
        if person_ids
        else {}
    )
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
        claims.append(_Claim(n.id, token, n.channel, message, skip, now + lease))
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
    flood = outcome.kind == "temporary" and outcome.retry_after is not None
    attempt_outcome = "flood_wait" if flood else outcome.kind
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
        n.fallback_since = None
        result.sent += 1
        return
    n.last_error = error
    if flood:
        # A flood wait delays; it is not a failed attempt (issue 9 point 5). The
        # fallback clock keeps running, so a long storm still hands the notice on.
        n.attempts = max(n.attempts - 1, 0)
        n.status = "pending"
        n.next_attempt_at = now + timedelta(seconds=max(outcome.retry_after or 0.0, 0.0))
        result.delayed += 1
        return
    if outcome.kind == "temporary" and n.attempts < policy.outbox.max_attempts:
        n.status, n.next_attempt_at = "pending", now + backoff(policy, n.attempts)
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
    if n.fallback_since is not None or not handed_on(session, n):
        result.fallbacks += hand_on(session, n, reason=reason, now=now)
    else:
        n.fallback_since = None


def _write_back_sent(
    session: Session,
    sent: Sequence[tuple[_Claim, _Outcome]],
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
            fallback_since=None,
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


def _renew(session: Session, claim: _Claim, *, now: datetime, lease: timedelta) -> bool:
    """Start the lease of a claimed row's send now; False if the lease was lost."""
    notes, attempts = Notification.__table__, DeliveryAttempt.__table__
    assert isinstance(notes, Table) and isinstance(attempts, Table)
    changed = session.execute(
        update(notes)
        .where(
            notes.c.id == claim.notification_id,
            notes.c.lease_token == claim.token,
            notes.c.status == "sending",
        )
        .values(next_attempt_at=now + lease, updated_at=now)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(attempts)
        .where(
            attempts.c.notification_id == claim.notification_id,
            attempts.c.lease_token == claim.token,
        )
        .values(started_at=now)
    )
    return True


def _release(session: Session, claims: Sequence[_Claim], *, now: datetime) -> None:
    """Give back claimed rows that were not sent: pending again, no attempt spent, and
    due from when each was written, so it is claimed again before the rows written after
    it (a lapsed lease taken over and given back at the end of a round keeps its turn)."""
    if not claims:
        return
    notes, attempts = Notification.__table__, DeliveryAttempt.__table__
    assert isinstance(notes, Table) and isinstance(attempts, Table)
    rows = [{"nid": c.notification_id, "tok": c.token} for c in claims]
    connection = session.connection()
    connection.execute(
        update(notes)
        .where(
            notes.c.id == bindparam("nid"),
            notes.c.lease_token == bindparam("tok"),
            notes.c.status == "sending",
        )
        .values(
            status="pending",
            attempts=notes.c.attempts - 1,
            lease_token=None,
            leased_by=None,
            # Back where its age puts it, not behind the backlog that came after it.
            next_attempt_at=case((notes.c.created_at < now, notes.c.created_at), else_=now),
            updated_at=now,
        ),
        rows,
    )
    # The attempts that never started (a row taken over meanwhile has a new token).
    connection.execute(
        delete(attempts).where(
            attempts.c.notification_id == bindparam("nid"),
            attempts.c.lease_token == bindparam("tok"),
            attempts.c.outcome == "sending",
        ),
        rows,
    )


def _write_backs_quickly(session: Session) -> None:
    """On PostgreSQL, commit this transaction without waiting for the WAL flush.

    The write-back is visible to every other worker the moment it commits, which is
    what keeps a killed *worker* from repeating more than its one send in flight; only
    a crash of the database server itself could lose the last fraction of a second of
    write-backs, and those rows are then sent again after their lease (at least once,
    as always). It makes one commit per send affordable.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def deliver(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    channels: Mapping[str, Channel],
    policy: Policy,
    worker_id: str,
    batch: int = 100,
    clock: Clock | None = None,
    until: float | None = None,
    claim_size: int = CLAIM_SIZE,
) -> DeliveryResult:
    """Deliver up to ``batch`` due notifications, one send at a time (see the module doc).

    Each channel's rows are claimed ``claim_size`` at a time and sent in turn with the
    other channels'. A send's outcome is written back before the next send starts, in
    the transaction that also renews the next row's lease when less of it is left than
    that send may take. Idempotent channels (:func:`idempotent`: the inbox, Telegram)
    are the exception: a send repeated after a crash delivers nothing twice, so their
    outcomes are written back :data:`WRITE_BACK_EVERY` at a time, or with the next
    other write-back. Rows
    still claimed when the call ends (``batch`` reached, ``until`` passed, their channel
    failing) are given back unspent.

    ``now`` times everything unless ``clock`` is given, which then times each claim and
    write-back (a run of slow sends takes a while). ``until`` (a ``time.monotonic()``
    instant) stops the run between two sends, after the first. ``more`` says whether
    rows may be left.
    """
    result = DeliveryResult()
    held_elsewhere = [kind for kind, channel in channels.items() if not accepting(channel)]
    lanes: list[str | None] = [kind for kind in channels if kind not in held_elsewhere]
    lanes.append(None)  # kinds no channel of this worker sends
    leases = {lane: lease_for(policy, channels.get(lane) if lane else None) for lane in lanes}
    # How long one send of a lane may take: a row with less lease left is renewed first.
    needs = {
        lane: timedelta(seconds=float(getattr(channels.get(lane or ""), "timeout", 0) or 0))
        + LEASE_MARGIN
        for lane in lanes
    }
    # The inbox's sends are idempotent and instant: more of its rows per claim.
    sizes = {lane: claim_size * (5 if lane == INBOX else 1) for lane in lanes}
    queues: dict[str | None, deque[_Claim]] = {lane: deque() for lane in lanes}
    done: set[str | None] = set()
    # Kinds whose outcomes may wait for a batch: a repeat after a crash is harmless.
    batched = {kind for kind, channel in channels.items() if idempotent(channel)}
    unwritten: list[tuple[_Claim, _Outcome]] = []
    unsent: list[_Claim] = []

    def at() -> datetime:
        return clock.now() if clock is not None else now

    def time_left(lane: str | None = None) -> bool:
        """Whether to go on: at least one send per call, so a round always progresses,
        and the inbox's claimed rows (instant, idempotent) rather than given back."""
        if until is None or result.claimed == 0 or time.monotonic() < until:
            return True
        return lane == INBOX and bool(queues[INBOX]) if INBOX in queues else False

    def settle(session: Session) -> None:
        _release(session, unsent, now=at())
        unsent.clear()
        sent = [(c, o) for c, o in unwritten if o.kind == "sent"]
        _write_back_sent(session, sent, now=at(), result=result)
        for claim, outcome in unwritten:
            if outcome.kind != "sent":
                _write_back(session, claim, outcome, now=at(), policy=policy, result=result)
        unwritten.clear()

    def owed() -> bool:
        """Whether a write-back must happen before the next send."""
        return (
            bool(unsent)
            or any(c.channel not in batched for c, _ in unwritten)
            or len(unwritten) >= WRITE_BACK_EVERY
        )

    def take(lane: str | None) -> _Claim | None:
        queue = queues[lane]
        while True:
            if not queue:
                with session_factory() as session, session.begin():
                    settle(session)
                    queue.extend(
                        _claim(
                            session,
                            now=at(),
                            worker_id=worker_id,
                            batch=max(1, min(sizes[lane], batch - result.claimed)),
                            lease=leases[lane],
                            held_elsewhere=held_elsewhere,
                            channel=lane,
                            other_than=list(channels) if lane is None else (),
                        )
                    )
                return queue.popleft() if queue else None  # a fresh lease
            claim = queue.popleft()
            stale = claim.leased_until is None or claim.leased_until - at() < needs[lane]
            if not stale and not owed():
                return claim
            with session_factory() as session, session.begin():
                _write_backs_quickly(session)
                settle(session)
                if not stale:
                    return claim
                if _renew(session, claim, now=at(), lease=leases[lane]):
                    return replace(claim, leased_until=at() + leases[lane])

    try:
        while (
            result.claimed < batch
            and len(done) < len(lanes)
            and any(time_left(lane) for lane in lanes if lane not in done)
        ):
            for lane in lanes:
                if lane in done or result.claimed >= batch or not time_left(lane):
                    continue
                claim = take(lane)
                if claim is None:
                    done.add(lane)
                    continue
                result.claimed += 1
                outcome = _send(claim, channels)
                unwritten.append((claim, outcome))
                if outcome.kind != "sent":
                    result.errors.append(f"{claim.notification_id}: {outcome.error}")
                if outcome.kind == "temporary" and outcome.retry_after is None:
                    # The channel is failing: its other rows wait for the next call,
                    # rather than each spending a timeout while the other channels wait.
                    done.add(lane)
                    unsent.extend(queues[lane])
                    queues[lane].clear()
    finally:
        for queue in queues.values():
            unsent.extend(queue)
            queue.clear()
        if unwritten or unsent:
            with session_factory() as session, session.begin():
                _write_backs_quickly(session)
                settle(session)
    result.more = len(done) < len(lanes)
    return result
