"""Lag from a timer's ``due_at`` to its notification being handed to the channel.

2,000 timers fall due within the same minute (spread evenly over it), and a real worker
— ``escalation.worker.run_worker`` with APScheduler waking it every ``--sweep-seconds``,
on the wall clock — sweeps them and delivers the outbox to a channel that notes the
moment each message is handed over. Each timer pages the general chain's first step
(the duty officer and the command center head), so 4,000 notifications go out.

The lag of a notification is ``handed over − due_at``; the printed p50, p99 and max are
over all of them. It is bounded below by the wake-up interval (a timer due just after
a sweep waits for the next one) and grows if a wake-up cannot keep up with the minute.

For each engine (SQLite, then PostgreSQL) on a fresh, migrated database with the demo
organisation:

    .venv/bin/python bench/lag_bench.py [--timers 2000] [--sweep-seconds 1] [--incidents 20]

PostgreSQL comes from ``FENGHUO_TEST_PG_URL`` (as in the tests); a throwaway database is
created there and dropped afterwards. Without a server the PostgreSQL half is skipped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from sweep_bench import DEMO_ORG, pg_database, sqlite_database  # noqa: E402

from app.migrate import upgrade  # noqa: E402
from config.policy import load_policy  # noqa: E402
from escalation.channels.base import OutgoingMessage, Receipt  # noqa: E402
from escalation.models import EscalationChain, Notification, Timer  # noqa: E402
from escalation.response import open_incident  # noqa: E402
from escalation.worker import run_worker  # noqa: E402
from incidents.audit import system_actor  # noqa: E402
from incidents.clock import SystemClock  # noqa: E402
from incidents.db import make_engine, make_sessionmaker  # noqa: E402
from incidents.inputs import IncidentInput  # noqa: E402
from incidents.org_io import import_org  # noqa: E402


class StopwatchChannel:
    """Accepts every message and notes, per notification, when it was handed over."""

    kind = "inbox"

    def __init__(self) -> None:
        self.clock = SystemClock()
        self.handed: dict[int, datetime] = {}
        self.lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> Receipt:
        at = self.clock.now()
        with self.lock:
            self.handed.setdefault(message.notification_id, at)
        return Receipt(external_id=str(message.notification_id))


def prepare(factory: sessionmaker[Session], incidents: int, now: datetime) -> dict[int, int]:
    """The demo organisation and ``incidents`` general incidents; incident id → chain id."""
    with factory() as session, session.begin():
        import_org(
            session,
            DEMO_ORG.read_text(encoding="utf-8"),
            actor=system_actor("cli"),
            now=now - timedelta(days=1),
        )
    policy = load_policy()
    for _ in range(incidents):
        data = IncidentInput.parse(
            {
                "title": "lag",
                "category": "other",
                "grade": "general",
                "detected_at": now.isoformat(),
            }
        )
        with factory() as session, session.begin():
            open_incident(session, data=data, actor=system_actor("cli"), now=now, policy=policy)
    with factory() as session:
        return dict(session.execute(select(EscalationChain.incident_id, EscalationChain.id)).all())


def run(url: str, label: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    clock = SystemClock()
    try:
        chains = prepare(factory, args.incidents, clock.now())
        ids = sorted(chains)
        # The minute starts a few seconds from now, once the worker is up and idle.
        start = clock.now() + timedelta(seconds=args.lead)
        spread = timedelta(seconds=60) / args.timers
        rows = [
            {
                "incident_id": ids[i % len(ids)],
                "kind": "step",
                "due_at": start + spread * i,
                "status": "pending",
                "chain_id": chains[ids[i % len(ids)]],
                "step_index": 0,
                "repeat_index": 1000 + i,
                "until": "acknowledged",
                "cancel_reason": "",
                "note": "lag",
                "created_at": clock.now(),
            }
            for i in range(args.timers)
        ]
        with factory() as session, session.begin():
            session.execute(insert(Timer), rows)
        channel = StopwatchChannel()
        stop = threading.Event()
        worker = threading.Thread(
            target=run_worker,
            kwargs={
                "database_url": url,
                "policy": load_policy(),
                "clock": clock,
                "channels": {"inbox": channel},
                "sweep_seconds": args.sweep_seconds,
                "stop": stop,
            },
        )
        worker.start()
        wanted: dict[int, datetime] = {}
        expected = args.timers * 2
        deadline = time.monotonic() + args.lead + 60 + 120
        while time.monotonic() < deadline:
            with factory() as session:
                wanted = {
                    nid: at
                    for nid, at in session.execute(
                        select(Notification.id, Timer.due_at)
                        .join(Timer, Timer.id == Notification.timer_id)
                        .where(Timer.note == "lag")
                    )
                }
            if len(wanted) == expected and all(n in channel.handed for n in wanted):
                break
            time.sleep(0.5)
        stop.set()
        worker.join()
        lags = sorted(
            (channel.handed[n] - at).total_seconds()
            for n, at in wanted.items()
            if n in channel.handed
        )
        missing = expected - len(lags)
        p99 = lags[max(int(len(lags) * 0.99) - 1, 0)]
        print(
            f"== {label}: {args.timers:,} timers due within one minute, "
            f"{len(lags):,} notifications, wake-up every {args.sweep_seconds:g} s"
        )
        print(
            f"  lag due_at -> handed to the channel: p50 {statistics.median(lags):.2f} s, "
            f"p99 {p99:.2f} s, max {lags[-1]:.2f} s" + (f"; {missing} MISSING" if missing else "")
        )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=2000)
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--sweep-seconds", type=float, default=1.0)
    parser.add_argument(
        "--lead", type=float, default=5.0, help="seconds from set-up to the start of the minute"
    )
    args = parser.parse_args()
    with sqlite_database() as url:
        run(url, "SQLite", args)
    with pg_database() as pg_url:
        if pg_url is not None:
            run(pg_url, "PostgreSQL", args)


if __name__ == "__main__":
    main()
