"""The cost of a sweep that finds nothing due, among 1,000 and among 1,000,000 pending timers.

A sweep runs every few seconds on every worker; almost always nothing is due. Its cost
must not grow with the timers waiting for later (each open incident holds a dozen), or
a busy year would slow every wake-up. The claim query rides the partial index
``ix_timer_due_pending`` (``due_at`` where ``status = 'pending'``), so it should cost
the same at both sizes: the printed ratio should be near 1.

For each engine (SQLite, then PostgreSQL) on a fresh, migrated database with the demo
organisation and one incident:

1. insert ``--small`` pending timers due tomorrow, time ``--runs`` sweeps at today's
   time (nothing due), and take the median and the 95th percentile;
2. grow the table to ``--large`` pending timers (and as many fired ones, as history
   would leave), refresh the planner statistics, and time the same sweeps again;
3. print both, the ratio of the medians, and the query plan of the claim.

    .venv/bin/python bench/sweep_bench.py [--small 1000] [--large 1000000] [--runs 300]

PostgreSQL comes from ``FENGHUO_TEST_PG_URL`` (as in the tests); a throwaway database is
created there and dropped afterwards. Without a server the PostgreSQL half is skipped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import DEMO_ORG, PG_ADMIN_URL, pg_database, sqlite_database  # noqa: E402, F401
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from app.migrate import upgrade  # noqa: E402
from config.policy import load_policy  # noqa: E402
from escalation.models import EscalationChain  # noqa: E402
from escalation.response import open_incident  # noqa: E402
from escalation.sweep import sweep  # noqa: E402
from incidents.audit import system_actor  # noqa: E402
from incidents.db import make_engine, make_sessionmaker  # noqa: E402
from incidents.inputs import IncidentInput  # noqa: E402

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def prepare(factory: sessionmaker[Session]) -> tuple[int, int]:
    """One incident (the harness imported the demo organisation); its id and its chain's."""
    data = IncidentInput.parse(
        {"title": "bench", "category": "other", "grade": "general", "detected_at": NOW.isoformat()}
    )
    with factory() as session, session.begin():
        incident = open_incident(
            session, data=data, actor=system_actor("cli"), now=NOW, policy=load_policy()
        )
        chain_id = session.query(EscalationChain.id).filter_by(incident_id=incident.id).scalar()
        return incident.id, int(chain_id)


def add_timers(
    factory: sessionmaker[Session],
    dialect: str,
    *,
    start: int,
    count: int,
    incident_id: int,
    chain_id: int,
    status: str,
) -> None:
    """Insert ``count`` step timers in SQL, due one second apart from tomorrow."""
    tomorrow = NOW + timedelta(days=1)
    if dialect == "postgresql":
        series = "generate_series(CAST(:start AS integer), CAST(:stop AS integer)) AS g(i)"
        due = "CAST(:base AS timestamptz) + g.i * interval '1 second'"
    else:
        series = (
            "(WITH RECURSIVE g(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM g "
            "WHERE i < :stop) SELECT i FROM g) AS g"
        )
        due = "strftime('%Y-%m-%d %H:%M:%f', :base, '+' || g.i || ' seconds')"
    sql = text(
        "INSERT INTO timer (incident_id, kind, due_at, status, chain_id, step_index, "
        "repeat_index, until, cancel_reason, note, created_at) "
        f"SELECT :incident, 'step', {due}, :status, :chain, 0, g.i, 'acknowledged', '', "
        f"'bench', :now FROM {series}"
    )
    base = tomorrow if dialect == "postgresql" else tomorrow.replace(tzinfo=None).isoformat(" ")
    now = NOW if dialect == "postgresql" else NOW.replace(tzinfo=None).isoformat(" ")
    step = 200_000
    for first in range(start, start + count, step):
        last = min(first + step, start + count) - 1
        with factory() as session, session.begin():
            session.execute(
                sql,
                {
                    "start": first,
                    "stop": last,
                    "incident": incident_id,
                    "chain": chain_id,
                    "status": status,
                    "base": base,
                    "now": now,
                },
            )


def analyse(factory: sessionmaker[Session], dialect: str) -> None:
    with factory() as session, session.begin():
        session.execute(text("ANALYZE timer" if dialect == "postgresql" else "ANALYZE"))


def timed_sweeps(factory: sessionmaker[Session], runs: int) -> list[float]:
    policy = load_policy()
    for _ in range(10):  # warm the connection pool and the statement caches
        sweep(factory, now=NOW, policy=policy)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = sweep(factory, now=NOW, policy=policy)
        times.append(time.perf_counter() - started)
        assert result.claimed == 0, "nothing should be due"
    return times


def plan(factory: sessionmaker[Session], dialect: str) -> str:
    claim = (
        "SELECT id FROM timer WHERE timer.status = 'pending' AND due_at <= :now "
        "ORDER BY due_at, id LIMIT 500"
    )
    with factory() as session, session.begin():
        if dialect == "postgresql":
            lines = session.execute(
                text("EXPLAIN " + claim + " FOR UPDATE SKIP LOCKED"), {"now": NOW}
            ).scalars()
            return "\n".join(f"    {line}" for line in lines)
        rows = session.execute(
            text("EXPLAIN QUERY PLAN " + claim), {"now": NOW.replace(tzinfo=None).isoformat(" ")}
        ).all()
        return "\n".join(f"    {r[-1]}" for r in rows)


def describe(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def run(url: str, label: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    dialect = engine.dialect.name
    try:
        incident_id, chain_id = prepare(factory)
        add_timers(
            factory,
            dialect,
            start=0,
            count=args.small,
            incident_id=incident_id,
            chain_id=chain_id,
            status="pending",
        )
        analyse(factory, dialect)
        small = describe(timed_sweeps(factory, args.runs))
        started = time.perf_counter()
        add_timers(
            factory,
            dialect,
            start=args.small,
            count=args.large - args.small,
            incident_id=incident_id,
            chain_id=chain_id,
            status="pending",
        )
        add_timers(
            factory,
            dialect,
            start=args.large,
            count=args.large,
            incident_id=incident_id,
            chain_id=chain_id,
            status="fired",
        )
        analyse(factory, dialect)
        filled = time.perf_counter() - started
        large = describe(timed_sweeps(factory, args.runs))
        print(f"== {label}")
        print(
            f"  {args.small:>9,} pending timers: median {small[0] * 1e3:6.3f} ms, "
            f"p95 {small[1] * 1e3:6.3f} ms per sweep"
        )
        print(
            f"  {args.large:>9,} pending timers (+ as many fired): median "
            f"{large[0] * 1e3:6.3f} ms, p95 {large[1] * 1e3:6.3f} ms per sweep "
            f"(table filled in {filled:.0f} s)"
        )
        print(f"  ratio of the medians (large / small): {large[0] / small[0]:.2f}")
        print("  claim plan:")
        print(plan(factory, dialect))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with sqlite_database(now=NOW) as url:
        run(url, "SQLite (WAL, BEGIN IMMEDIATE)", args)
    with pg_database(now=NOW) as pg_url:
        if pg_url is not None:
            run(pg_url, "PostgreSQL (FOR UPDATE SKIP LOCKED)", args)


if __name__ == "__main__":
    main()
