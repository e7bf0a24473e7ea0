"""The worker: one per SQLite database, clean SIGTERM, and delivery in a running worker.

Worker *processes* run on the wall clock (``SystemClock``), so these tests wait for
them — polling the database while the work moves on (``tests.waiting``), never sleeping
for a fixed time and never holding the machine to a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.inbox import InboxChannel
from escalation.models import Notification, Timer
from escalation.worker import WorkerAlreadyRunning, single_worker_lock
from escalation.worker_health import ROUNDS
from incidents.clock import FrozenClock, SystemClock
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, RecordingChannel, open_, worker_thread
from tests.waiting import STALL_SECONDS, wait_for

ROOT = Path(__file__).resolve().parents[2]


def worker_process(
    database_url: str, *extra: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "escalation.worker",
        "--database-url",
        database_url,
        "--sweep-seconds",
        "0.5",
        *extra,
    ]
    environment = {**os.environ, **(env or {})}
    if log is None:
        return subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    with open(log, "wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=out)


def test_a_second_worker_on_sqlite_refuses_to_start(sqlite_url: str) -> None:
    with (
        single_worker_lock(sqlite_url),
        pytest.raises(WorkerAlreadyRunning) as err,
        single_worker_lock(sqlite_url),
    ):
        pass
    assert "SQLite allows one worker" in str(err.value)
    assert str(os.getpid()) in str(err.value)


def test_the_lock_is_released_when_the_worker_stops(sqlite_url: str) -> None:
    with single_worker_lock(sqlite_url):
        pass
    with single_worker_lock(sqlite_url):
        pass


def test_postgresql_needs_no_worker_lock() -> None:
    url = "postgresql+psycopg://127.0.0.1/none"
    with single_worker_lock(url), single_worker_lock(url):
        pass


def test_a_second_worker_process_says_why_it_will_not_start(
    sqlite_url: str, tmp_path: Path
) -> None:
    with single_worker_lock(sqlite_url):
        done = subprocess.run(
            [sys.executable, "-m", "escalation.worker", "--database-url", sqlite_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=STALL_SECONDS,
            check=False,
        )
    assert done.returncode == 3
    assert "another worker is already running" in done.stderr


def test_a_running_worker_sweeps_and_delivers_until_stopped(
    sqlite_url: str, factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    clock = FrozenClock(T0 + timedelta(minutes=10))
    inbox = InboxChannel(factory, clock)
    console = RecordingChannel("console")

    def unsent() -> int | None:
        with factory() as s:
            return s.scalar(
                select(func.count()).select_from(Notification).where(Notification.status != "sent")
            )

    def all_sent() -> bool:
        return unsent() == 0 and any(m.recipient_login == "director" for m in console.sent)

    with worker_thread(
        database_url=sqlite_url,
        policy=DEFAULT_POLICY,
        clock=clock,
        channels={"inbox": inbox, "console": console},
        sweep_seconds=0.05,
    ):
        wait_for(
            all_sent,
            "the pages and informs due by 10 minutes to be sent",
            progress=lambda: (unsent(), len(console.sent)),
        )
    # Configuring a console channel turned on the broadcast console destination: what
    # this worker fired is logged too (the notices at open predate it) — the command
    # center's reminders at 5 and 10 minutes, 3(2)'s inform reminders, and the director's
    # inform at 10 minutes (the default major chain).
    logged = sorted((m.kind, m.recipient_login) for m in console.sent)
    assert logged == sorted(
        [("step", "duty"), ("step", "cchead")] * 2
        + [("inform", "netsec")] * 2
        + [("inform", "director")]
    )


def test_a_worker_wakes_when_a_timer_falls_due_not_at_its_next_interval(
    sqlite_url: str, factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    # An interval of an hour: only the early wake can fire these timers in this test.
    # Two timers, 1 s and 2 s ahead: the first is planned after the round at start, the
    # second after the round that fired the first.
    now = datetime.now(UTC)
    incident_id = open_(factory, org, "general", at=now)
    with factory() as s, s.begin():
        s.execute(update(Timer).values(due_at=now + timedelta(days=30)))
        first, second = s.scalars(
            select(Timer.id).where(Timer.incident_id == incident_id).order_by(Timer.id).limit(2)
        ).all()
        for timer_id, ahead in ((first, 1), (second, 2)):
            s.execute(
                update(Timer)
                .where(Timer.id == timer_id)
                .values(due_at=now + timedelta(seconds=ahead), status="pending")
            )
    clock = SystemClock()

    def fired() -> list[tuple[datetime, datetime | None]]:
        with factory() as s:
            rows = s.execute(
                select(Timer.due_at, Timer.fired_at).where(Timer.id.in_((first, second)))
            ).all()
        return [(due, at) for due, at in rows] if all(at for _, at in rows) else []

    with worker_thread(
        database_url=sqlite_url,
        policy=DEFAULT_POLICY,
        clock=clock,
        channels={"inbox": InboxChannel(factory, clock)},
        sweep_seconds=3600,
    ):
        times = wait_for(fired, "both timers fired by the worker's early wake-ups")
    for due, at in times:
        assert at is not None and due <= at < now + timedelta(minutes=30)


def test_a_frozen_clock_does_not_make_the_worker_sweep_again_and_again(
    sqlite_url: str, factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    # A timer 1 ms ahead of a clock that never moves: waiting for it would never bring
    # it due, so the job must leave it to the interval rather than sweep in a loop.
    incident_id = open_(factory, org, "general")
    with factory() as s, s.begin():
        s.execute(
            update(Timer)
            .where(Timer.incident_id == incident_id, Timer.status == "pending")
            .values(due_at=T0 + timedelta(milliseconds=1))
        )
    clock = FrozenClock(T0)
    ok = ROUNDS.labels("ok")
    before = ok._value.get()
    with worker_thread(
        database_url=sqlite_url,
        policy=DEFAULT_POLICY,
        clock=clock,
        channels={"inbox": InboxChannel(factory, clock)},
        sweep_seconds=3600,
    ):
        wait_for(lambda: ok._value.get() > before, "the worker's first round")
        threading.Event().wait(0.5)  # a loop would run hundreds of rounds meanwhile
        rounds = ok._value.get() - before
    assert rounds == 1


def test_sigterm_stops_a_worker_process_cleanly(sqlite_url: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    proc = worker_process(sqlite_url, log=log)
    try:
        wait_for(lambda: b"started" in log.read_bytes(), "the worker to start")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STALL_SECONDS) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"stopped" in log.read_bytes()
