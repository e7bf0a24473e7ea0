"""Lag from a timer's ``due_at`` to its notification being handed to the channel.

2,000 timers fall due at *one instant*, and the worker — ``python -m escalation.worker``
as its own process (``bench/harness.py``), APScheduler waking it every
``--sweep-seconds`` on the wall clock, with the inbox channel, a real one — sweeps them
and delivers the outbox. Each timer pages the general chain's first step (the duty
officer and the command center head), so 4,000 notifications go out.

How: on a scratch database (demo organisation) of each engine, ``--incidents`` general
incidents are opened through ``open_incident`` (their own first pages delivered before
anything is timed), and ``--repeats`` sets of ``--timers`` first-step timers are written
pending, due in a month. The worker starts; for each repeat one UPDATE moves a set's
``due_at`` to ``--lead`` seconds ahead, while the worker runs. When every notification
of the set is in the inbox (or nothing moved for ``--stall`` seconds), the moments are
read back from the database: a notification's lag is ``inbox_item.created_at`` (the
moment the inbox channel was handed it) − ``timer.due_at``. The table gives p50, p99
and max over all of them, as the median and the minimum over the repeats, against the
yardstick of the sweep interval (a timer due just after a wake-up waits for the next
one: ratio p99 ÷ interval; the goal is p99 ≤ 2 s), and splits the p99 into the part
before the sweep (``timer.fired_at`` − due) and the delivery after it. Every repeat's
load average is noted; ``fenghuo audit verify`` runs on each database at the end.

    .venv/bin/python bench/lag_bench.py [--timers 2000] [--incidents 200]
        [--sweep-seconds 1] [--engine both] [--repeats 3] [--json PATH]

PostgreSQL comes from ``FENGHUO_TEST_PG_URL`` (as in the tests); a throwaway database is
created there and dropped afterwards. Without a server the PostgreSQL half is noted and
skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from config.policy import load_policy  # noqa: E402
from escalation.models import EscalationChain, InboxItem, Notification, Timer  # noqa: E402
from escalation.response import open_incident  # noqa: E402
from incidents.audit import system_actor  # noqa: E402
from incidents.db import make_engine, make_sessionmaker  # noqa: E402
from incidents.inputs import IncidentInput  # noqa: E402

INBOX = "inbox"


@dataclass(frozen=True)
class Burst:
    """One repeat: every notification's lag, and the part of the p99 before the sweep."""

    lags: list[float]
    swept_p99: float
    delivered_p99: float
    expected: int
    load: tuple[float, float, float]


def note_of(repeat: int) -> str:
    return f"lag-{repeat}"


def open_incidents(factory: sessionmaker[Session], count: int, now: datetime) -> dict[int, int]:
    """``count`` general incidents, opened as a person would; incident id → chain id."""
    policy = load_policy()
    for i in range(count):
        data = IncidentInput.parse(
            {
                "title": f"lag {i}",
                "category": "other",
                "grade": "general",
                "detected_at": now.isoformat(),
            }
        )
        with factory() as session, session.begin():
            open_incident(session, data=data, actor=system_actor("cli"), now=now, policy=policy)
    with factory() as session:
        return dict(session.execute(select(EscalationChain.incident_id, EscalationChain.id)).all())


def write_timers(
    factory: sessionmaker[Session], chains: dict[int, int], *, timers: int, repeats: int
) -> None:
    """``repeats`` sets of ``timers`` pending first-step timers, due in a month (the
    bench moves each set to one instant in turn)."""
    ids = sorted(chains)
    now = datetime.now(UTC)
    later = now + timedelta(days=30)
    for r in range(repeats):
        rows = [
            {
                "incident_id": ids[i % len(ids)],
                "kind": "step",
                "due_at": later,
                "status": "pending",
                "chain_id": chains[ids[i % len(ids)]],
                "step_index": 0,
                "repeat_index": 1000 + r * timers + i,
                "until": "acknowledged",
                "cancel_reason": "",
                "note": note_of(r),
                "created_at": now,
            }
            for i in range(timers)
        ]
        with factory() as session, session.begin():
            session.execute(insert(Timer), rows)


def undelivered(factory: sessionmaker[Session]) -> int:
    """Inbox notifications not yet sent (the set-up's own first pages, at first)."""
    with factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.channel == INBOX,
                    Notification.status.in_(("pending", "sending")),
                )
            )
            or 0
        )


def wait_quiet(factory: sessionmaker[Session], stall: float) -> None:
    """Until the worker has delivered every inbox notification there is (or stalled)."""
    last, since = -1, time.monotonic()
    while (left := undelivered(factory)) > 0:
        if left != last:
            last, since = left, time.monotonic()
        elif time.monotonic() - since > stall:
            raise RuntimeError(f"{left} inbox notifications undelivered, no progress in {stall} s")
        time.sleep(0.2)


def burst(factory: sessionmaker[Session], repeat: int, args: argparse.Namespace) -> Burst:
    """Move one set of timers to one instant ``--lead`` s ahead; wait; read the lags."""
    note = note_of(repeat)
    load = harness.loadavg()
    instant = datetime.now(UTC) + timedelta(seconds=args.lead)
    with factory() as session, session.begin():
        session.execute(update(Timer).where(Timer.note == note).values(due_at=instant))
    # Done when every timer has fired and every inbox notification of them is in the
    # inbox; a stall (nothing new for --stall seconds) ends it with what arrived.
    handed = (
        select(func.count())
        .select_from(InboxItem)
        .join(Notification, Notification.id == InboxItem.notification_id)
        .join(Timer, Timer.id == Notification.timer_id)
        .where(Timer.note == note)
    )
    written = (
        select(func.count())
        .select_from(Notification)
        .join(Timer, Timer.id == Notification.timer_id)
        .where(Timer.note == note, Notification.channel == INBOX)
    )
    pending = (
        select(func.count()).select_from(Timer).where(Timer.note == note, Timer.status == "pending")
    )
    time.sleep(max(args.lead - 0.5, 0))
    last, since = -1, time.monotonic()
    while True:
        with factory() as session:
            got = int(session.scalar(handed) or 0)
            expected = int(session.scalar(written) or 0)
            waiting = int(session.scalar(pending) or 0)
        if waiting == 0 and expected and got >= expected:
            break
        if got != last:
            last, since = got, time.monotonic()
        elif time.monotonic() - since > args.stall:
            break
        time.sleep(0.1)
    with factory() as session:
        rows = session.execute(
            select(Timer.due_at, Timer.fired_at, InboxItem.created_at)
            .join(Notification, Notification.timer_id == Timer.id)
            .join(InboxItem, InboxItem.notification_id == Notification.id)
            .where(Timer.note == note)
        ).all()
    lags = [(at - due).total_seconds() for due, _fired, at in rows]
    swept = [(fired - due).total_seconds() for due, fired, _at in rows if fired is not None]
    delivered = [(at - fired).total_seconds() for _due, fired, at in rows if fired is not None]
    return Burst(
        lags,
        harness.percentile(swept, 99),
        harness.percentile(delivered, 99),
        max(expected, args.timers * 2),
        load,
    )


def run_engine(db: harness.Scratch, args: argparse.Namespace, report: harness.Report) -> None:
    engine = make_engine(db.url)
    factory = make_sessionmaker(engine)
    try:
        began = time.monotonic()
        chains = open_incidents(factory, args.incidents, datetime.now(UTC))
        write_timers(factory, chains, timers=args.timers, repeats=max(args.repeats, 1))
        report.note(
            f"{db.engine}: {args.incidents} incidents opened and "
            f"{args.timers * max(args.repeats, 1):,} timers written in "
            f"{time.monotonic() - began:.1f} s"
        )
        bursts: list[Burst] = []
        with harness.worker(db, sweep_seconds=args.sweep_seconds, channels=INBOX):
            wait_quiet(factory, args.stall)
            for r in range(max(args.repeats, 1)):
                got = burst(factory, r, args)
                bursts.append(got)
                p = harness.percentiles(got.lags)
                missing = got.expected - len(got.lags)
                report.note(
                    f"{db.engine} repeat {r + 1}: {len(got.lags):,} of {got.expected:,} "
                    f"handed over; p50 {p.p50:.2f} s, p99 {p.p99:.2f} s, max {p.max:.2f} s "
                    f"(p99 due → swept {got.swept_p99:.2f} s, swept → handed "
                    f"{got.delivered_p99:.2f} s); load {got.load[0]:.2f}"
                    + (f"; {missing} MISSING" if missing > 0 else "")
                )
    finally:
        engine.dispose()
    size = f"{args.timers:,} timers / {args.timers * 2:,} notifications at one instant"
    figures = [harness.percentiles(b.lags) for b in bursts]
    complete = all(len(b.lags) >= b.expected for b in bursts)
    for name, values in (
        ("p50", [f.p50 for f in figures]),
        ("p99", [f.p99 for f in figures]),
        ("max", [f.max for f in figures]),
    ):
        report.add(
            harness.Row.from_spread(
                f"due → handed {name}",
                db.engine,
                harness.spread(values),
                unit="s",
                yardstick=args.sweep_seconds,
                goal="lag_p99" if name == "p99" and complete else "",
                size=size,
                note="" if complete else "notifications missing",
            )
        )
    for name, values in (
        ("p99 due → swept", [b.swept_p99 for b in bursts]),
        ("p99 swept → handed", [b.delivered_p99 for b in bursts]),
    ):
        report.add(
            harness.Row.from_spread(name, db.engine, harness.spread(values), unit="s", size=size)
        )
    report.add(harness.verify_audit(db))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_args(parser)
    parser.add_argument("--timers", type=int, default=2000)
    parser.add_argument(
        "--incidents", type=int, default=None, help="incidents the timers page for (timers/10)"
    )
    parser.add_argument("--sweep-seconds", type=float, default=1.0)
    parser.add_argument(
        "--lead", type=float, default=3.0, help="seconds from the UPDATE to the instant"
    )
    parser.add_argument(
        "--stall", type=float, default=30.0, help="give up after this long without progress"
    )
    args = parser.parse_args(argv)
    if args.incidents is None:
        args.incidents = max(args.timers // 10, 1)
    with harness.Report("lag_bench", json_path=args.json) as report:
        for engine in harness.engines(args.engine):
            try:
                with harness.scratch(engine) as db:
                    run_engine(db, args, report)
            except harness.EngineUnavailable as exc:
                report.note(f"{engine} skipped: {exc}")
        return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
