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
2. **Send**, with no transaction open: ``channel.send(message)`` — or, for a channel
   that sends several at once within its own limits
   (:class:`~escalation.channels.base.BatchChannel`: Telegram concurrently within the
   flood limits, the inbox in one transaction), ``channel.send_many(messages)`` for up
   to its ``batch_size`` claimed rows, each answered as ``send`` would have (a
   :class:`~escalation.channels.base.NotSent` row is given back unspent).
3. **Write back** (one short transaction) before the next send, only if the lease token
   still matches — a worker that stalled past its lease cannot overwrite the one that
   took over. A worker killed mid-send therefore repeats at most the one message it had
   in flight (a batch channel: the batch's messages in flight; Telegram records each
   copy as soon as it is answered, so a retry finds it). (Idempotent channels — the
   inbox, Telegram, which recognises a notice it posted before — are written back a
   few at a time: repeating them delivers nothing twice.) Sent: done (the fallback
   clock stops). A flood wait (``ChannelError`` with ``retry_after``: Telegram's
   RetryAfter, a robot's throttle, the local flood limiter, the sender lock held
   elsewhere): ``pending`` again after that wait, *not* counted
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
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy
from escalation.channels.base import (
    BatchChannel,
    Channel,
    ChannelError,
    NotSent,
    Receipt,
    accepting,
    batch_size,
)
from escalation.claims import Claim, claim_rows
from escalation.write_backs import (
    MAX_BACKOFF,
    DeliveryResult,
    Outcome,
    backoff,
    quick_commit,
    release,
    renew,
    write_back,
    write_back_sent,
)
from incidents.clock import Clock

__all__ = [
    "CLAIM_SIZE",
    "LEASE_MARGIN",
    "MAX_BACKOFF",
    "DeliveryResult",
    "backoff",
    "deliver",
    "delivery_bound",
    "idempotent",
    "lease_for",
]

# The names the tests and tools knew before the split.
_Claim = Claim
_Outcome = Outcome
_claim = claim_rows
_write_back = write_back


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


def _send(claim: Claim, channels: Mapping[str, Channel]) -> Outcome:
    if claim.skip_reason:
        return Outcome("skipped", claim.skip_reason)
    channel = channels.get(claim.channel)
    if channel is None:
        return Outcome("temporary", f"no {claim.channel!r} channel is configured in this worker")
    try:
        receipt = channel.send(claim.message)
    except ChannelError as exc:
        return Outcome(
            "permanent" if exc.permanent else "temporary", exc.reason, retry_after=exc.retry_after
        )
    except Exception as exc:  # a channel bug must not stop delivery of the others
        return Outcome("temporary", f"{type(exc).__name__}: {exc}")
    return Outcome("sent", external_id=receipt.external_id)


def _outcome(answer: object) -> Outcome:
    if isinstance(answer, NotSent):
        return Outcome("unsent", answer.reason)
    if isinstance(answer, Receipt):
        return Outcome("sent", external_id=answer.external_id)
    if isinstance(answer, ChannelError):
        return Outcome(
            "permanent" if answer.permanent else "temporary",
            answer.reason,
            retry_after=answer.retry_after,
        )
    if isinstance(answer, Exception):
        return Outcome("temporary", f"{type(answer).__name__}: {answer}")
    return Outcome("temporary", "the channel gave no answer for this message")


def _send_all(claims: Sequence[Claim], channels: Mapping[str, Channel]) -> list[Outcome]:
    """The outcomes of one lane's ``claims``: those to send in one ``send_many`` where
    the channel has it (:class:`~escalation.channels.base.BatchChannel`), else one by
    one; skipped rows are not sent."""
    outcomes: list[Outcome | None] = [
        Outcome("skipped", c.skip_reason) if c.skip_reason else None for c in claims
    ]
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    channel = channels.get(claims[0].channel) if claims else None
    if todo and batch_size(channel) > 1:
        many = cast(BatchChannel, channel)
        answers: list[object]
        try:
            answers = list(many.send_many([claims[i].message for i in todo]))
        except Exception as exc:  # a channel bug must not stop delivery of the others
            answers = [exc] * len(todo)
        for k, i in enumerate(todo):
            outcomes[i] = _outcome(answers[k] if k < len(answers) else None)
    else:
        for i in todo:
            outcomes[i] = _send(claims[i], channels)
    return [o if o is not None else Outcome("temporary", "not sent") for o in outcomes]


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
    """Deliver up to ``batch`` due notifications (see the module doc).

    Each channel's rows are claimed ``claim_size`` at a time (a batch channel's:
    ``batch_size`` at a time, all sent in one ``send_many``) and sent in turn with the
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
    # Messages per send: a batch channel's batch_size (one send_many), else one.
    per_send = {lane: batch_size(channels.get(lane)) if lane else 1 for lane in lanes}
    # Rows per claim: a batch at a time; the inbox's sends are idempotent and instant.
    sizes = {
        lane: per_send[lane] if per_send[lane] > 1 else claim_size * (5 if lane == INBOX else 1)
        for lane in lanes
    }
    queues: dict[str | None, deque[Claim]] = {lane: deque() for lane in lanes}
    done: set[str | None] = set()
    # Kinds whose outcomes may wait for a batch: a repeat after a crash is harmless.
    batched = {kind for kind, channel in channels.items() if idempotent(channel)}
    unwritten: list[tuple[Claim, Outcome]] = []
    unsent: list[Claim] = []

    def at() -> datetime:
        return clock.now() if clock is not None else now

    def time_left(lane: str | None = None) -> bool:
        """Whether to go on: at least one send per call, so a round always progresses,
        and the inbox's claimed rows (instant, idempotent) rather than given back."""
        if until is None or result.claimed == 0 or time.monotonic() < until:
            return True
        return lane == INBOX and bool(queues[INBOX]) if INBOX in queues else False

    def settle(session: Session) -> None:
        release(session, unsent, now=at())
        unsent.clear()
        sent = [(c, o) for c, o in unwritten if o.kind == "sent"]
        write_back_sent(session, sent, now=at(), result=result)
        for claim, outcome in unwritten:
            if outcome.kind != "sent":
                write_back(session, claim, outcome, now=at(), policy=policy, result=result)
        unwritten.clear()

    def owed() -> bool:
        """Whether a write-back must happen before the next send."""
        return (
            bool(unsent)
            or any(c.channel not in batched for c, _ in unwritten)
            or len(unwritten) >= WRITE_BACK_EVERY
        )

    def take(lane: str | None, n: int) -> list[Claim]:
        """Up to ``n`` claimed rows of ``lane`` to send now, each with its lease fresh."""
        queue = queues[lane]
        while True:
            if not queue:
                with session_factory() as session, session.begin():
                    settle(session)
                    queue.extend(
                        claim_rows(
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
                return [queue.popleft() for _ in range(min(n, len(queue)))]  # fresh leases
            picked = [queue.popleft() for _ in range(min(n, len(queue)))]
            stale = {
                c.notification_id
                for c in picked
                if c.leased_until is None or c.leased_until - at() < needs[lane]
            }
            if not stale and not owed():
                return picked
            fresh: list[Claim] = []
            with session_factory() as session, session.begin():
                quick_commit(session)
                settle(session)
                for claim in picked:
                    if claim.notification_id not in stale:
                        fresh.append(claim)
                    elif renew(session, claim, now=at(), lease=leases[lane]):
                        fresh.append(replace(claim, leased_until=at() + leases[lane]))
            if fresh:
                return fresh

    try:
        while (
            result.claimed < batch
            and len(done) < len(lanes)
            and any(time_left(lane) for lane in lanes if lane not in done)
        ):
            for lane in lanes:
                if lane in done or result.claimed >= batch or not time_left(lane):
                    continue
                claims = take(lane, min(per_send[lane], batch - result.claimed))
                if not claims:
                    done.add(lane)
                    continue
                result.claimed += len(claims)
                failing = False
                for claim, outcome in zip(claims, _send_all(claims, channels), strict=True):
                    if outcome.kind == "unsent":  # not tried: back to the queue, unspent
                        unsent.append(claim)
                        continue
                    unwritten.append((claim, outcome))
                    if outcome.kind != "sent":
                        result.errors.append(f"{claim.notification_id}: {outcome.error}")
                    failing |= outcome.kind == "temporary" and outcome.retry_after is None
                if failing:
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
                quick_commit(session)
                settle(session)
    result.more = len(done) < len(lanes)
    return result
