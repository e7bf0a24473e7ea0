"""Paging health: heartbeats of the processes, each channel's state, the oldest wait.

Alerts that silently stop going out are worse than no alerts: the command center trusts
a quiet Telegram. So every part that pages says how it is, in the ``heartbeat`` table:

- each **worker** beats once per round (``worker:<worker id>``) and removes its row on a
  clean exit; a beat older than a few sweep intervals means paging has stopped;
- the **bot** beats from its poll loop (``bot:<bot id>``): ``starting``, ``polling``, or
  ``unreachable``/``bad_token`` while it cannot reach Telegram;
- each **channel** (``channel:<kind>``) is derived by the worker from the recent
  ``delivery_attempt`` outcomes (:func:`channel_health`): failing since the first
  channel-wide failure after the last success, with a reason code
  (:mod:`escalation.delivery_reasons`), never the exception's text.

:func:`paging_health` reads all of it, plus the oldest notification still undelivered,
into one typed summary that the dashboard's banner, ``/readyz`` and ``/metrics`` show.
Every query is bounded: primary keys, the outbox's partial queue index, the last
:data:`RECENT_ATTEMPTS` attempts by id. Writing the rows is ``escalation.heartbeats``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from config.policy import Policy
from escalation.delivery_reasons import CHANNEL_WIDE, DELAYING, reason_code
from escalation.heartbeats import KINDS, beat, forget, forget_dead
from escalation.models import QUEUED_NOTIFICATION, DeliveryAttempt, Heartbeat, Notification

# The writing side lives in ``escalation.heartbeats``; callers may use it from here.
__all__ = [
    "KINDS",
    "ChannelHealth",
    "ChannelState",
    "PagingHealth",
    "ProcessState",
    "beat",
    "channel_health",
    "delivery_bound",
    "forget",
    "forget_dead",
    "oldest_undelivered",
    "paging_health",
    "queue_depths",
    "record_channels",
    "stale_after",
]

# How many of the newest delivery attempts the channel health is read from.
RECENT_ATTEMPTS = 500
# A worker whose beat is older than this many sweep intervals (and at least
# STALE_FLOOR) is taken to have stopped paging.
STALE_SWEEPS = 3
STALE_FLOOR = timedelta(seconds=30)
# The bot beats at least this often while polling (or retrying).
BOT_BEAT = timedelta(seconds=15)
# Sweeps allowed on top of ``fallback_after`` before a wait counts as too long: one for
# the sweep that fires the timer, one for the pass that tries the next channel, one for
# the send itself (docs/escalation.md states the bound).
BOUND_SWEEPS = 3


def stale_after(sweep_seconds: float) -> timedelta:
    """How old a worker's beat may be before paging counts as stopped."""
    return max(timedelta(seconds=STALE_SWEEPS * sweep_seconds), STALE_FLOOR)


def delivery_bound(policy: Policy, sweep_seconds: float) -> timedelta:
    """The longest a due notice should wait to be delivered somewhere:
    ``fallback_after`` plus :data:`BOUND_SWEEPS` sweep intervals."""
    bound: timedelta = policy.outbox.fallback_after + timedelta(
        seconds=BOUND_SWEEPS * sweep_seconds
    )
    return bound


# --- channels ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelHealth:
    """A channel as the recent attempts show it."""

    channel: str
    failing: bool
    since: datetime | None
    reason: str
    last_success_at: datetime | None


def channel_health(
    session: Session, *, channels: Iterable[str] | None = None, recent: int = RECENT_ATTEMPTS
) -> dict[str, ChannelHealth]:
    """Each channel's state from the newest ``recent`` finished attempts: failing since
    the first channel-wide failure after its last success (a flood wait counts as
    failing with reason ``flood_wait``: the faces say "delayed"), else healthy.

    A failure about one destination (a blocked bot, a chat that is gone) leaves the
    channel healthy. Channels named in ``channels`` with no recent attempt are healthy.
    """
    rows = session.execute(
        select(
            DeliveryAttempt.id,
            DeliveryAttempt.outcome,
            DeliveryAttempt.error,
            DeliveryAttempt.started_at,
            DeliveryAttempt.finished_at,
            Notification.channel,
        )
        .join(Notification, Notification.id == DeliveryAttempt.notification_id)
        .where(
            DeliveryAttempt.id.in_(
                select(DeliveryAttempt.id).order_by(DeliveryAttempt.id.desc()).limit(recent)
            )
        )
        .order_by(DeliveryAttempt.id)
    ).all()
    found: dict[str, ChannelHealth] = {
        kind: ChannelHealth(kind, False, None, "", None) for kind in channels or ()
    }
    for _id, outcome, error, started_at, finished_at, channel in rows:
        at = finished_at or started_at
        current = found.get(channel) or ChannelHealth(channel, False, None, "", None)
        if outcome == "sent":
            found[channel] = ChannelHealth(channel, False, None, "", at)
            continue
        if outcome not in ("temporary", "permanent"):
            found[channel] = current
            continue
        code = reason_code(error)
        if code not in CHANNEL_WIDE and code not in DELAYING:
            found[channel] = current
            continue
        since = current.since if current.failing and current.since is not None else at
        found[channel] = ChannelHealth(channel, True, since, code, current.last_success_at)
    return found


def record_channels(session: Session, health: Iterable[ChannelHealth], *, now: datetime) -> None:
    """Write each channel's state to its heartbeat row (``channel:<kind>``)."""
    for h in health:
        beat(
            session,
            name=f"channel:{h.channel}",
            kind="channel",
            now=now,
            started_at=h.last_success_at or now,
            healthy=not h.failing,
            detail=h.reason if h.failing else "",
        )
        if h.failing and h.since is not None:
            # The derived start is earlier than the beat that first saw it.
            session.execute(
                update(Heartbeat)
                .where(
                    Heartbeat.name == f"channel:{h.channel}",
                    Heartbeat.failing_since > h.since,
                )
                .values(failing_since=h.since)
                .execution_options(synchronize_session=False)
            )


# --- the summary ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessState:
    name: str
    beat_at: datetime
    age: timedelta
    healthy: bool
    detail: str
    failing_since: datetime | None


@dataclass(frozen=True)
class ChannelState:
    channel: str
    failing: bool
    delayed: bool
    since: datetime | None
    reason: str


@dataclass(frozen=True)
class PagingHealth:
    """What is known about paging at ``now``; ``problems`` names what is wrong."""

    now: datetime
    worker: ProcessState | None
    worker_stale: bool
    stale_after: timedelta
    bot: ProcessState | None
    bot_expected: bool
    channels: list[ChannelState]
    oldest_undelivered_at: datetime | None
    oldest_undelivered_channel: str | None
    bound: timedelta

    @property
    def oldest_undelivered_age(self) -> timedelta | None:
        if self.oldest_undelivered_at is None:
            return None
        return max(self.now - self.oldest_undelivered_at, timedelta(0))

    @property
    def overdue(self) -> bool:
        age = self.oldest_undelivered_age
        return age is not None and age > self.bound

    @property
    def bot_unhealthy(self) -> bool:
        if not self.bot_expected:
            return False
        if self.bot is None:
            return True
        return not self.bot.healthy or self.bot.age > 4 * BOT_BEAT

    @property
    def failing_channels(self) -> list[ChannelState]:
        return [c for c in self.channels if c.failing]

    @property
    def problems(self) -> list[str]:
        """The failing parts, by name: ``worker``, ``bot``, ``channel:<kind>``,
        ``delivery`` (a notice waiting longer than the bound)."""
        found = []
        if self.worker_stale:
            found.append("worker")
        if self.bot_unhealthy:
            found.append("bot")
        found.extend(f"channel:{c.channel}" for c in self.failing_channels)
        if self.overdue:
            found.append("delivery")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems


def _process(row: Heartbeat, now: datetime) -> ProcessState:
    return ProcessState(
        name=row.name,
        beat_at=row.beat_at,
        age=max(now - row.beat_at, timedelta(0)),
        healthy=row.healthy,
        detail=row.detail,
        failing_since=row.failing_since,
    )


def oldest_undelivered(session: Session) -> tuple[datetime | None, str | None]:
    """When the oldest notice still waiting to reach its person was written, and on
    which channel. Waiting: queued, and neither handed on yet (its fallback clock still
    runs, ``escalation.handover``) nor delivered to the same person on another channel;
    or a queued inbox copy. A row already handed on to the next destination or person
    keeps retrying but is no longer what the person waits for; a group notice (no
    person) is left out, its step's people are reached one by one. Reads the queue
    through its partial index."""
    # The queue first, on its own (MATERIALIZED): given the conditions below as well,
    # SQLite's planner read the whole notification table (1,050,005 rows at 1,000,000
    # incidents: 60 % of a dashboard's time) instead of the queue's partial index, once
    # ANALYZE had found that index empty. PostgreSQL goes through the index either way.
    queue = (
        select(
            Notification.id,
            Notification.created_at,
            Notification.channel,
            Notification.timer_id,
            Notification.person_id,
        )
        .where(
            text(f"notification.{QUEUED_NOTIFICATION}"),
            or_(Notification.fallback_since.is_not(None), Notification.channel == "inbox"),
        )
        .cte("queue")
        .prefix_with("MATERIALIZED")
    )
    sibling = aliased(Notification)
    delivered_elsewhere = (
        select(sibling.id)
        .where(
            sibling.timer_id == queue.c.timer_id,
            sibling.person_id == queue.c.person_id,
            sibling.channel != queue.c.channel,
            sibling.channel != "inbox",
            sibling.status == "sent",
        )
        .exists()
    )
    row = session.execute(
        select(queue.c.created_at, queue.c.channel)
        .where(queue.c.person_id.is_not(None), ~delivered_elsewhere)
        .order_by(queue.c.created_at, queue.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None, None
    return row[0], row[1]


def queue_depths(session: Session) -> dict[str, tuple[int, datetime | None]]:
    """Per channel: how many notifications are queued, and the oldest one's time."""
    queued = text(f"notification.{QUEUED_NOTIFICATION}")
    rows = session.execute(
        select(Notification.channel, func.count(), func.min(Notification.created_at))
        .where(queued)
        .group_by(Notification.channel)
    ).all()
    out: dict[str, tuple[int, datetime | None]] = {}
    for channel, count, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:  # SQLite's aggregate is naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        out[str(channel)] = (int(count), oldest)
    return out


def paging_health(
    session: Session,
    now: datetime,
    policy: Policy,
    *,
    sweep_seconds: float = 5.0,
    bot_expected: bool = False,
) -> PagingHealth:
    """The summary the dashboard, ``/readyz`` and ``/metrics`` show.

    ``bot_expected``: a bot should be polling (a token is set, polling mode); without
    one, a missing bot row is no problem.
    """
    beats = list(session.scalars(select(Heartbeat).order_by(Heartbeat.beat_at.desc())))
    workers = [b for b in beats if b.kind == "worker"]
    bots = [b for b in beats if b.kind == "bot"]
    worker = _process(workers[0], now) if workers else None
    limit = stale_after(sweep_seconds)
    channels = [
        ChannelState(
            channel=b.name.removeprefix("channel:"),
            failing=not b.healthy and b.detail not in DELAYING,
            delayed=not b.healthy and b.detail in DELAYING,
            since=b.failing_since,
            reason=b.detail,
        )
        for b in sorted((b for b in beats if b.kind == "channel"), key=lambda b: b.name)
        # As the live workers see them: a channel no worker reports on any more (taken
        # out of the configuration) is not "failing"; a silent worker is its own problem.
        if now - b.beat_at <= limit
    ]
    oldest_at, oldest_channel = oldest_undelivered(session)
    return PagingHealth(
        now=now,
        worker=worker,
        worker_stale=worker is None or worker.age > limit,
        stale_after=limit,
        bot=_process(bots[0], now) if bots else None,
        bot_expected=bot_expected,
        channels=channels,
        oldest_undelivered_at=oldest_at,
        oldest_undelivered_channel=oldest_channel,
        bound=delivery_bound(policy, sweep_seconds),
    )
