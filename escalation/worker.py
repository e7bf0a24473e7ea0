"""The worker process: APScheduler wakes it every few seconds to sweep, then deliver.

APScheduler is only the alarm clock (DESIGN "Processes"): a ``BackgroundScheduler``
with one interval job in memory, ``max_instances=1`` and ``coalesce`` so a slow round
never overlaps the next; every business fact lives in the database. Each round sweeps
due timers and delivers the outbox, batch after batch, until nothing more is due or
a stop is asked for.

SIGTERM (and SIGINT) ask for a clean stop: the round in progress finishes its batch,
the scheduler shuts down and waits for it, and the process exits 0. Work cut short by
a harder death is safe too: unfired timers stay pending, and claimed notifications are
taken over when their lease lapses.

On SQLite one worker at most: a second refuses to start (an exclusive ``flock`` on
``<database>.worker.lock``, held for the life of the process). On PostgreSQL any
number run side by side.

``python -m escalation.worker --database-url URL --policy FILE`` runs one.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy, PolicyError, load_policy
from config.settings import Settings
from escalation.audit_watch import CHECK_SECONDS as AUDIT_CHECK_SECONDS
from escalation.audit_watch import CheckpointDuty
from escalation.bulletins import deliver_bulletins
from escalation.channels.base import AttachmentSource, Channel, make_channel
from escalation.channels.robots import ROBOT_KINDS
from escalation.destinations import ensure_broadcast
from escalation.handoff_watch import CHECK_SECONDS as HANDOFF_CHECK_SECONDS
from escalation.handoff_watch import HandoffDuty
from escalation.handover import hand_on_overdue
from escalation.outbox import deliver
from escalation.policy_people import refuse_unknown_people
from escalation.sweep import next_due, sweep
from escalation.worker_health import WorkerHealth
from escalation.worker_lock import WorkerAlreadyRunning, single_worker_lock, sqlite_path
from incidents.clock import Clock, SystemClock
from incidents.db import make_engine, make_sessionmaker

logger = logging.getLogger("fenghuo.worker")

JOB_ID = "sweep-deliver"

__all__ = [
    "WorkerAlreadyRunning",
    "main",
    "run_round",
    "run_worker",
    "run_worker_from_settings",
    "single_worker_lock",
    "sqlite_path",
]


class _ExpectedSkips(logging.Filter):
    """Drop APScheduler's warning that a wake-up was skipped because the previous round
    still runs: with ``max_instances=1`` that is the design, not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_ExpectedSkips())


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class RoundResult:
    fired: int = 0
    notifications: int = 0
    sent: int = 0
    failed: int = 0
    # The budget stopped delivery with notices still due, or the sweep with timers
    # still due: the next round should start at once rather than at the next wake-up
    # (run_worker's job does so).
    more: bool = False


def run_round(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    policy: Policy,
    channels: Mapping[str, Channel],
    worker_id: str,
    stop: threading.Event,
    sweep_batch: int = 500,
    deliver_batch: int = 500,
    budget: float | None = None,
) -> RoundResult:
    """Sweep until nothing is due, hand on what waited ``fallback_after`` undelivered,
    then deliver until nothing is due — or until a stop is
    asked for, or ``budget`` seconds have passed (the next round goes on from there; a
    round shorter than the interval keeps the scheduler from skipping wake-ups)."""
    totals = RoundResult()
    deadline = time.monotonic() + budget if budget is not None else None

    def go_on() -> bool:
        return not stop.is_set() and (deadline is None or time.monotonic() < deadline)

    due_left = False  # the budget ended the sweep with timers still due
    while go_on():
        swept = sweep(factory, now=clock.now(), policy=policy, batch=sweep_batch)
        totals.fired += swept.fired
        totals.notifications += swept.notifications
        due_left = swept.more
        if not swept.more:
            break
    # Notices not delivered within ``fallback_after`` go to the next destination or
    # person (escalation.handover), before this round's delivery sends them.
    while hand_on_overdue(factory, now=clock.now(), policy=policy).more and go_on():
        pass
    while not stop.is_set():  # at least one delivery per round, however short the budget
        delivered = deliver(
            factory,
            now=clock.now(),
            channels=channels,
            policy=policy,
            worker_id=worker_id,
            batch=deliver_batch,
            clock=clock,
            until=deadline,
        )
        totals.sent += delivered.sent
        totals.failed += delivered.failed
        totals.more = delivered.more and not stop.is_set()
        if not delivered.more or not go_on():
            break
    # Notices about no incident (escalation.bulletins): after the incidents' own.
    if go_on():
        told = deliver_bulletins(factory, now=clock.now(), channels=channels, policy=policy.outbox)
        totals.sent += told.sent
        totals.failed += told.failed
    totals.more = totals.more or (due_left and not stop.is_set())
    return totals


def run_worker(
    *,
    database_url: str,
    policy: Policy,
    clock: Clock,
    channels: Mapping[str, Channel],
    sweep_seconds: float,
    stop: threading.Event | None = None,
    worker_id: str | None = None,
    sweep_batch: int = 500,
    deliver_batch: int = 500,
    audit_duty: CheckpointDuty | None = None,
    handoff_duty: HandoffDuty | None = None,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT when on the main thread).

    ``audit_duty``: checkpoints at an interval and the daily message to the leading
    group office (escalation.audit_watch), on a job of its own so that verifying a long
    chain never delays a page. ``handoff_duty``: the duty officer handoff (交接班) and its
    reminder (escalation.handoff_watch), on a job of its own too.

    Raises :class:`WorkerAlreadyRunning` on SQLite when another worker holds the lock.
    Configuring a ``console`` channel turns on the broadcast console destination, so
    every notice is also logged (demos).
    """
    stop = stop or threading.Event()
    worker_id = worker_id or default_worker_id()
    with single_worker_lock(database_url):
        engine = make_engine(database_url)
        factory = make_sessionmaker(engine)
        if "console" in channels:
            ensure_broadcast(factory, kind="console", address="log", now=clock.now())
        # The heartbeat, the channels' state and the round's figures (escalation.health).
        beats = WorkerHealth(worker_id, started_at=clock.now(), channels=list(channels))
        beats.started(factory, clock.now())

        def job() -> None:
            # A round whose delivery the budget cut short is followed at once by the
            # next (sweep first, as every round), not one wake-up later: a backlog — a
            # Telegram burst going at the flood limits' pace — is sent without pauses.
            # A timer falling due before the next interval is waited for here, so its
            # page goes at its instant rather than up to an interval late (the
            # interval's wake-up meanwhile is skipped: one job at a time).
            while not stop.is_set():
                more = True
                while more and not stop.is_set():
                    swept_at = clock.now()
                    more = one_round()
                wait = until_next_timer(swept_at)
                # (A clock that has not moved since the round, a test's frozen one, would
                # never bring the timer due: the interval wakes the worker instead.)
                if wait is None or wait >= sweep_seconds or clock.now() <= swept_at:
                    break
                stop.wait(wait)

        def until_next_timer(swept_at: datetime) -> float | None:
            """Seconds until the soonest pending timer the last round could not see (due
            after ``swept_at``) falls due, by the injected clock; None when there is none.
            One due before it and still pending is another worker's, in its transaction:
            not waited for. Timers written meanwhile (the web, the API) are found by the
            next round, at the latest one interval on."""
            try:
                with factory() as session:
                    due = next_due(session)
            except Exception:  # the interval still wakes the worker
                logger.exception("reading the next timer failed")
                return None
            if due is None or due <= swept_at:
                return None
            return max((due - clock.now()).total_seconds(), 0.0)

        def one_round() -> bool:
            began = time.monotonic()
            try:
                done = run_round(
                    factory,
                    clock=clock,
                    policy=policy,
                    channels=channels,
                    worker_id=worker_id,
                    stop=stop,
                    sweep_batch=sweep_batch,
                    deliver_batch=deliver_batch,
                    budget=0.8 * sweep_seconds,
                )
            except Exception:  # keep waking: the next round may succeed (database back)
                logger.exception("worker round failed")
                beats.after_round(factory, clock.now(), seconds=None, failed=True)
                return False
            beats.after_round(factory, clock.now(), seconds=time.monotonic() - began)
            if done.fired or done.sent or done.failed:
                logger.info(
                    "fired %d timers, wrote %d notifications, sent %d, failed %d",
                    done.fired,
                    done.notifications,
                    done.sent,
                    done.failed,
                )
            return done.more

        restore = _on_signals(stop)
        scheduler = BackgroundScheduler(timezone=UTC)
        try:
            logger.info(
                "worker %s started: channels %s, every %ss",
                worker_id,
                ", ".join(sorted(channels)),
                sweep_seconds,
            )
            job()  # at once, not one interval after start
            scheduler.add_job(
                job,
                "interval",
                seconds=sweep_seconds,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                id=JOB_ID,
            )
            # Duties of their own, so that a slow one (verifying a long chain) never
            # delays a page; each first runs at start.
            if audit_duty is not None:
                _add_duty(
                    scheduler,
                    audit_duty.run,
                    factory,
                    clock,
                    AUDIT_CHECK_SECONDS,
                    "audit-checkpoint",
                    "audit checkpoint duty",
                )
            if handoff_duty is not None:
                _add_duty(
                    scheduler,
                    handoff_duty.run,
                    factory,
                    clock,
                    HANDOFF_CHECK_SECONDS,
                    "duty-handoff",
                    "duty handoff",
                )
            scheduler.start()
            stop.wait()
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)
            restore()
            beats.stopped(factory)
            engine.dispose()
            logger.info("worker %s stopped", worker_id)


def _on_signals(stop: threading.Event) -> Callable[[], None]:
    """Make SIGTERM and SIGINT set ``stop`` (main thread only); return an undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping after the current batch", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


# --- from the settings (``fenghuo worker``, ``fenghuo run``) -------------------------------


def channels_from_settings(
    settings: Settings,
    policy: Policy,
    clock: Clock,
    factory: sessionmaker[Session],
    attachments: AttachmentSource | None = None,
) -> dict[str, Channel]:
    """The inbox always; the console unless turned off (``FENGHUO_WORKER_CONSOLE``,
    default on outside production, so ``make run`` shows every notice); Telegram when a
    token is set; email when ``FENGHUO_SMTP_HOST`` is (with ``attachments`` making a
    delivered report's PDF); the group robots always (each group destination carries its
    own webhook and secret)."""
    common = {"session_factory": factory, "clock": clock}
    channels: dict[str, Channel] = {"inbox": make_channel("inbox", common)}
    if settings.worker_console:
        channels["console"] = make_channel("console", common)
    if settings.telegram_enabled:
        channels["telegram"] = make_channel(
            "telegram",
            {
                **common,
                "token": settings.telegram_token,
                "api_url": settings.telegram_api_url,
                "public_url": settings.public_url,
                "redact_titles": policy.redact_titles,
                "timezone": policy.timezone,
            },
        )
    if settings.smtp is not None:
        smtp = settings.smtp
        channels["email"] = make_channel(
            "email",
            {
                **common,
                "host": smtp.host,
                "port": smtp.port,
                "sender": smtp.sender,
                "security": smtp.security,
                "user": smtp.user,
                "password": smtp.password,
                "timeout": smtp.timeout,
                "public_url": settings.public_url,
                "secret_key": settings.secret_key,
                "attachments": attachments,
            },
        )
    for kind in ROBOT_KINDS:
        channels[kind] = make_channel(kind, {**common, "public_url": settings.public_url})
    return channels


def _add_duty(
    scheduler: BackgroundScheduler,
    run: Callable[[sessionmaker[Session], datetime], object],
    factory: sessionmaker[Session],
    clock: Clock,
    every: float,
    job_id: str,
    what: str,
) -> None:
    """Run ``run(factory, now)`` every ``every`` seconds, at once first; a failure is
    logged and the next look may succeed (the database back)."""

    def job() -> None:
        try:
            run(factory, clock.now())
        except Exception:
            logger.exception("%s failed", what)

    scheduler.add_job(
        job,
        "interval",
        seconds=every,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
        id=job_id,
    )


def audit_duty_from_settings(settings: Settings, policy: Policy) -> CheckpointDuty | None:
    """The worker's checkpoint duty, from ``FENGHUO_AUDIT_*`` (none without a key)."""
    if settings.audit_keyring is None or settings.audit_checkpoint_path is None:
        return None
    minutes = settings.audit_checkpoint_minutes
    return CheckpointDuty(
        path=settings.audit_checkpoint_path,
        keyring=settings.audit_keyring,
        tz=policy.tz,
        every=timedelta(minutes=minutes) if minutes else None,
        daily_at=settings.audit_daily_at,
        group=settings.audit_daily_group,
    )


def handoff_duty_from_settings(settings: Settings, policy: Policy) -> HandoffDuty:
    """The worker's handoff duty: times shown in the policy's zone, reminded after
    ``FENGHUO_HANDOFF_ACK_MINUTES``."""
    return HandoffDuty(tz=policy.tz, ack_after=timedelta(minutes=settings.handoff_ack_minutes))


def close_channels(channels: Mapping[str, Channel]) -> None:
    """Release what channels hold (Telegram's event loop and sender lock)."""
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if callable(close):
            close()


def run_worker_from_settings(
    settings: Settings,
    policy: Policy,
    clock: Clock,
    *,
    stop: threading.Event | None = None,
    attachments: AttachmentSource | None = None,
) -> None:
    """``fenghuo worker``: run with the channels the settings give (``attachments``: the
    files a delivered report's email carries); on SQLite a second worker exits with
    status 3 and says why."""
    engine = make_engine(settings.database_url)
    try:
        refuse_unknown_people(make_sessionmaker(engine), policy)  # issue 12: loud, not silent
        channels = channels_from_settings(
            settings, policy, clock, make_sessionmaker(engine), attachments
        )
        try:
            run_worker(
                database_url=settings.database_url,
                policy=policy,
                clock=clock,
                channels=channels,
                sweep_seconds=settings.sweep_seconds,
                stop=stop,
                audit_duty=audit_duty_from_settings(settings, policy),
                handoff_duty=handoff_duty_from_settings(settings, policy),
            )
        finally:
            close_channels(channels)
    except WorkerAlreadyRunning as exc:
        print(f"fenghuo worker: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    finally:
        engine.dispose()


# --- the command line -----------------------------------------------------------------


def _factory_channels(spec: str, **kwargs: Any) -> Mapping[str, Channel]:
    module_name, _, func_name = spec.partition(":")
    if not func_name:
        raise ValueError(f"--channel-factory must be MODULE:FUNCTION, got {spec!r}")
    func = getattr(importlib.import_module(module_name), func_name)
    built: Mapping[str, Channel] = func(**kwargs)
    return built


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m escalation.worker",
        description="Sweep due timers and deliver the notification outbox.",
    )
    parser.add_argument("--database-url", help="default: FENGHUO_DATABASE_URL or the settings")
    parser.add_argument("--policy", help="policy file; default: FENGHUO_POLICY or the packaged one")
    parser.add_argument(
        "--sweep-seconds", type=float, default=float(os.environ.get("FENGHUO_SWEEP_SECONDS", "5"))
    )
    parser.add_argument(
        "--channels",
        default="inbox",
        help="comma-separated channel kinds (default: inbox; demos: console,inbox)",
    )
    parser.add_argument(
        "--channel-factory",
        default=None,
        help="MODULE:FUNCTION(session_factory=, clock=) returning more channels",
    )
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    database_url = args.database_url or os.environ.get("FENGHUO_DATABASE_URL")
    if not database_url:
        from config.settings import load_settings

        database_url = load_settings().database_url
    try:
        policy = load_policy(args.policy or os.environ.get("FENGHUO_POLICY") or None)
    except PolicyError as exc:
        print(f"fenghuo worker: the policy is not valid: {exc}", file=sys.stderr)
        return 2
    clock = SystemClock()
    channel_engine = make_engine(database_url)
    channel_factory = make_sessionmaker(channel_engine)
    settings = {"session_factory": channel_factory, "clock": clock}
    try:
        channels: dict[str, Channel] = {
            kind: make_channel(kind, settings)
            for kind in (k.strip() for k in args.channels.split(","))
            if kind
        }
        if args.channel_factory:
            channels.update(
                _factory_channels(
                    args.channel_factory, session_factory=channel_factory, clock=clock
                )
            )
        run_worker(
            database_url=database_url,
            policy=policy,
            clock=clock,
            channels=channels,
            sweep_seconds=args.sweep_seconds,
            worker_id=args.worker_id,
        )
    except WorkerAlreadyRunning as exc:
        print(f"fenghuo worker: {exc}", file=sys.stderr)
        return 3
    except (KeyError, ValueError) as exc:
        print(f"fenghuo worker: {exc}", file=sys.stderr)
        return 2
    finally:
        channel_engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
