"""The figures ``/metrics`` reads from the database at scrape time.

Business state — the outbox's depth and oldest wait per channel, obligations by status,
heartbeats, failing channels — lives in the database, so it is read when Prometheus
asks: the same answer from every web worker, and true across restarts
(prometheus_client's custom-collector pattern). Every query is bounded: the outbox
through its partial queue index, heartbeats by primary key, obligations grouped by
status (a few rows per incident). On PostgreSQL a statement timeout caps a scrape.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy
from escalation import health
from escalation.models import OBLIGATION_STATUSES, Obligation
from incidents.clock import Clock

logger = logging.getLogger("fenghuo.metrics")
STATEMENT_TIMEOUT_MS = 2000


class DatabaseCollector(Collector):
    """Gauges computed from the database on each scrape."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        policy: Policy,
        clock: Clock,
        sweep_seconds: float,
        bot_expected: bool,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.bot_expected = bot_expected

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Nothing up front: registering must not query the database.
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock.now()
        up = GaugeMetricFamily(
            "fenghuo_database_up", "1 when the database answered this scrape's queries."
        )
        try:
            with self.sessions() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
                families = list(self._families(session, now))
        except Exception:
            logger.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, session: Session, now: datetime) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "fenghuo_outbox_depth",
            "Notifications queued (pending or being sent), per channel.",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "fenghuo_outbox_oldest_pending_age_seconds",
            "Age of the oldest queued notification, per channel.",
            labels=["channel"],
        )
        queued = health.queue_depths(session)
        state = health.paging_health(
            session,
            now,
            self.policy,
            sweep_seconds=self.sweep_seconds,
            bot_expected=self.bot_expected,
        )
        # Every channel the worker reports on, so an empty queue reads 0, not absent.
        for channel in sorted(set(queued) | {c.channel for c in state.channels}):
            count, first = queued.get(channel, (0, None))
            depth.add_metric([channel], count)
            oldest.add_metric([channel], (now - first).total_seconds() if first else 0.0)
        yield depth
        yield oldest

        obligations = GaugeMetricFamily(
            "fenghuo_obligations", "Reporting obligations by status.", labels=["status"]
        )
        counts = dict(
            session.execute(
                select(Obligation.status, func.count()).group_by(Obligation.status)
            ).all()
        )
        for status in OBLIGATION_STATUSES:
            obligations.add_metric([status], int(counts.get(status, 0)))
        yield obligations

        worker_age = GaugeMetricFamily(
            "fenghuo_worker_heartbeat_age_seconds",
            "Seconds since the newest worker heartbeat (+Inf: no worker has beaten).",
        )
        worker_age.add_metric([], state.worker.age.total_seconds() if state.worker else math.inf)
        yield worker_age
        worker_up = GaugeMetricFamily(
            "fenghuo_worker_up", "1 while a worker's heartbeat is fresher than the stale limit."
        )
        worker_up.add_metric([], 0 if state.worker_stale else 1)
        yield worker_up
        bot_up = GaugeMetricFamily(
            "fenghuo_bot_up", "1 while the Telegram bot polls (reported only when one is set)."
        )
        if state.bot_expected or state.bot is not None:
            bot_up.add_metric([], 0 if state.bot_unhealthy else 1)
        yield bot_up
        failing = GaugeMetricFamily(
            "fenghuo_channel_failing",
            "1 while a channel cannot reach anyone (2: delayed by flood control).",
            labels=["channel"],
        )
        for c in state.channels:
            failing.add_metric([c.channel], 1 if c.failing else 2 if c.delayed else 0)
        yield failing
        waiting = GaugeMetricFamily(
            "fenghuo_oldest_undelivered_age_seconds",
            "Age of the oldest notification not delivered on any channel (0: none).",
        )
        age = state.oldest_undelivered_age
        waiting.add_metric([], age.total_seconds() if age is not None else 0.0)
        yield waiting
        bound = GaugeMetricFamily(
            "fenghuo_delivery_bound_seconds",
            "The longest a due notice should wait (fallback_after plus a few sweeps).",
        )
        bound.add_metric([], state.bound.total_seconds())
        yield bound
