"""What the worker says about itself each round: its heartbeat, the channels' state, and
the figures only it can measure.

After each round (``escalation.worker.run_worker``) :meth:`WorkerHealth.after_round`

1. beats the worker's row and writes each channel's state, derived from the recent
   delivery attempts (:mod:`escalation.health`), in one short transaction;
2. observes the round's duration (``fenghuo_sweep_duration_seconds``), and reads this
   worker's own attempts since the last round — a primary-key range — to count
   deliveries by channel and outcome (``fenghuo_deliveries_total``) and to observe the
   lag from a notice's due time to its hand-over to the channel
   (``fenghuo_due_to_handed_seconds``).

The metrics are ``prometheus_client`` objects in this process. Under ``fenghuo run``
the processes share ``PROMETHEUS_MULTIPROC_DIR`` and the web's ``/metrics`` sums them;
a worker on its own serves them on ``FENGHUO_WORKER_METRICS_PORT``
(docs/operator.md, "Monitoring Fenghuo itself").
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter, Histogram
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation import health
from escalation.models import DeliveryAttempt, Notification, Timer

logger = logging.getLogger("fenghuo.worker")

SWEEP_DURATION = Histogram(
    "fenghuo_sweep_duration_seconds",
    "How long one worker round (sweep due timers, then deliver) took.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
DUE_TO_HANDED = Histogram(
    "fenghuo_due_to_handed_seconds",
    "From a notice's due time to its hand-over to the channel, per channel.",
    ["channel"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 180, 300, 600, 1800, 3600),
)
DELIVERIES = Counter(
    "fenghuo_deliveries",
    "Delivery attempts finished by this worker, by channel and outcome "
    "(sent, temporary, permanent, skipped, lease_expired).",
    ["channel", "outcome"],
)
ROUNDS = Counter(
    "fenghuo_worker_rounds",
    "Worker rounds, by result (ok, error).",
    ["result"],
)


@dataclass
class WorkerHealth:
    """One worker's heartbeat and figures; ``worker_id`` names its row."""

    worker_id: str
    started_at: datetime
    channels: Iterable[str] = ()
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    cursor: int | None = None

    @property
    def name(self) -> str:
        return f"worker:{self.worker_id}"[:160]

    def started(self, factory: sessionmaker[Session], now: datetime) -> None:
        """The first beat, and where this worker's attempts start."""
        try:
            with factory() as session, session.begin():
                self._beat(session, now)
                self.cursor = int(session.scalar(select(func.max(DeliveryAttempt.id))) or 0)
        except Exception:  # the first round will try again
            logger.warning("could not record the worker's heartbeat", exc_info=True)

    def after_round(
        self,
        factory: sessionmaker[Session],
        now: datetime,
        *,
        seconds: float | None,
        failed: bool = False,
    ) -> None:
        """Beat, write the channels' state, and record this round's figures. A failure
        here is logged and never stops the worker."""
        ROUNDS.labels("error" if failed else "ok").inc()
        if seconds is not None:
            SWEEP_DURATION.observe(seconds)
        try:
            with factory() as session, session.begin():
                self._beat(session, now, healthy=not failed)
                found = health.channel_health(session, channels=self.channels)
                health.record_channels(session, found.values(), now=now)
                health.forget_dead(session, now=now, kind="worker")
                self._count(session)
        except Exception:
            logger.warning("could not record the worker's heartbeat", exc_info=True)

    def stopped(self, factory: sessionmaker[Session]) -> None:
        """A clean exit: the row goes (a missing worker is then plainly missing)."""
        try:
            with factory() as session, session.begin():
                health.forget(session, self.name)
        except Exception:
            logger.warning("could not remove the worker's heartbeat", exc_info=True)

    def _beat(self, session: Session, now: datetime, *, healthy: bool = True) -> None:
        health.beat(
            session,
            name=self.name,
            kind="worker",
            now=now,
            started_at=self.started_at,
            healthy=healthy,
            detail="" if healthy else "round_failed",
            host=self.host,
            pid=self.pid,
        )

    def _count(self, session: Session) -> None:
        """Count this worker's attempts finished since the last round, and observe the
        due→handed lag of those that were sent."""
        if self.cursor is None:
            self.cursor = int(session.scalar(select(func.max(DeliveryAttempt.id))) or 0)
            return
        rows = session.execute(
            select(
                DeliveryAttempt.id,
                DeliveryAttempt.outcome,
                DeliveryAttempt.finished_at,
                Notification.channel,
                Timer.due_at,
            )
            .join(Notification, Notification.id == DeliveryAttempt.notification_id)
            .join(Timer, Timer.id == Notification.timer_id)
            .where(DeliveryAttempt.id > self.cursor, DeliveryAttempt.worker_id == self.worker_id)
            .order_by(DeliveryAttempt.id)
        ).all()
        for attempt_id, outcome, finished_at, channel, due_at in rows:
            self.cursor = max(self.cursor, attempt_id)
            if outcome == "sending":
                continue  # cut short (the round failed): the lease closes it later
            DELIVERIES.labels(channel, outcome).inc()
            if outcome == "sent" and finished_at is not None:
                DUE_TO_HANDED.labels(channel).observe(
                    max((finished_at - due_at).total_seconds(), 0)
                )
