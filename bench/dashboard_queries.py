"""Each dashboard query, timed and explained, on a scratch database of N incidents.

Populates a scratch database — a SQLite file in a temporary folder, or a new PostgreSQL
database on the server ``--pg-admin`` names, dropped at the end — with ``--incidents``
incidents by ``bench/populate.py`` (or measures ``--url``, populated already), then calls
each function the dashboard calls (``app.web.dashboard`` and
``escalation.stats.figures``), as one who sees everything and as a department head (the
visibility filter), records the SQL each one issues, and prints one line per statement:
its time (min and median of ``--rounds`` runs, executed alone), and its plan — on SQLite
the ``EXPLAIN QUERY PLAN`` steps (SCAN = reads the whole table, SEARCH = through an
index), on PostgreSQL ``EXPLAIN (ANALYZE, FORMAT JSON)``: the scan nodes with the rows
each read, and whether JIT compiled the query.

    .venv/bin/python bench/dashboard_queries.py [--incidents 100000] [--engine both]
    .venv/bin/python bench/dashboard_queries.py --url sqlite:///…/bench.db

Migration 0015 and the rewritten queries (2 December 2026, load average about 10):
on PostgreSQL at 300,000 incidents no statement is JIT-compiled any more (three were:
the grade lists' nearest deadline, the unacknowledged and breach counts for a
department head). Migration 0017 then took the all-time figures (report shares,
reported-as-required, mean times) off the whole tables: they read four rows of
``figures_rollup`` (``escalation.tallies``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from populate import NOW, populate, scratch_database  # noqa: E402
from sqlalchemy import Connection, Engine, event, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.web import dashboard  # noqa: E402
from app.web.deadlines import deadlines_for  # noqa: E402
from escalation.stats import figures  # noqa: E402
from incidents.db import make_engine  # noqa: E402
from incidents.lifecycle import OPEN_STATUSES  # noqa: E402
from incidents.models import Incident  # noqa: E402
from incidents.org import Department, system_users  # noqa: E402
from incidents.permissions import Capabilities  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
EVERYONE = Capabilities(
    person_id=1,
    roles=frozenset({"duty_officer"}),
    department_ids=frozenset(),
    is_admin=True,
    in_command_center=True,
)


def _department_head(engine: Engine) -> Capabilities:
    """A head of the traffic division: sees its incidents and its systems' (the filter),
    with the systems read as ``incidents.permissions.capabilities`` reads them for the
    logged-in head (``system_ids``)."""
    with Session(engine) as session:
        traffic = session.scalars(select(Department.id).where(Department.code == "traffic")).one()
        systems = session.scalars(
            select(system_users.c.system_id).where(system_users.c.department_id == traffic)
        ).all()
    return Capabilities(
        person_id=2,
        roles=frozenset(),
        department_ids=frozenset({traffic}),
        is_admin=False,
        in_command_center=False,
        system_ids=frozenset(systems),
    )


def _listed(engine: Engine) -> list[int]:
    """24 open incidents, as a dashboard lists them."""
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Incident.id)
                .where(Incident.status.in_(OPEN_STATUSES))
                .order_by(Incident.id.desc())
                .limit(24)
            )
        )


def _captured(engine: Engine, call: Callable[[Session], Any]) -> list[tuple[str, Any]]:
    """The SQL statements ``call`` issues, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def listen(_c: Connection, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        with Session(engine) as session:
            call(session)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return seen


def _pg_nodes(node: dict[str, Any], out: list[str]) -> None:
    kind = node["Node Type"]
    if "Scan" in kind:
        where = node.get("Index Name") or node.get("Relation Name") or ""
        loops = int(node.get("Actual Loops", 1))
        rows = (
            int(node.get("Actual Rows", 0)) * loops
            + int(node.get("Rows Removed by Filter", 0)) * loops
        )
        out.append(f"{kind} {where} ({rows:,} read)")
    for child in node.get("Plans", []):
        _pg_nodes(child, out)


def _plan(conn: Connection, statement: str, params: Any) -> tuple[str, bool]:
    """The plan in one line, and whether JIT was used (PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        return "; ".join(str(r[-1]) for r in rows), False
    doc = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()
    top = (doc if isinstance(doc, list) else json.loads(str(doc)))[0]
    nodes: list[str] = []
    _pg_nodes(top["Plan"], nodes)
    jit = top.get("JIT", {}).get("Functions", 0) > 0
    return f"cost {top['Plan']['Total Cost']:,.0f}: " + "; ".join(nodes), jit


def _time(conn: Connection, statement: str, params: Any, rounds: int) -> tuple[float, float]:
    times = []
    conn.exec_driver_sql(statement, params).all()  # warm the cache
    for _ in range(rounds):
        started = time.perf_counter()
        conn.exec_driver_sql(statement, params).all()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


def _short(statement: str) -> str:
    one = " ".join(statement.split())
    return one if len(one) <= 70 else one[:67] + "..."


def calls(engine: Engine) -> dict[str, Callable[[Session], Any]]:
    """Each function the dashboard calls, by name (as everyone's and one head's)."""
    head = _department_head(engine)
    listed = _listed(engine)
    return {
        "grade_groups(all)": lambda s: dashboard.grade_groups(s, EVERYONE),
        "grade_groups(dept)": lambda s: dashboard.grade_groups(s, head),
        "unacknowledged(all)": lambda s: dashboard.unacknowledged(s, EVERYONE),
        "unacknowledged(dept)": lambda s: dashboard.unacknowledged(s, head),
        "breaches(all)": lambda s: dashboard.breaches(s, EVERYONE, NOW),
        "breaches(dept)": lambda s: dashboard.breaches(s, head, NOW),
        "deadlines_for(24)": lambda s: deadlines_for(s, listed),
        "stats.figures": lambda s: figures(s, now=NOW, tz=TZ),
    }


def measure(engine: Engine, rounds: int) -> None:
    print(f"{'call / statement':<28} {'min ms':>8} {'med ms':>8}  jit  plan")
    for name, call in calls(engine).items():
        with Session(engine) as session:
            whole = []
            for _ in range(rounds):
                started = time.perf_counter()
                call(session)
                whole.append((time.perf_counter() - started) * 1000)
        print(f"{name:<28} {min(whole):8.1f} {statistics.median(whole):8.1f}  (whole call)")
        with engine.connect() as conn:
            for statement, params in _captured(engine, call):
                if statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
                    continue
                low, mid = _time(conn, statement, params, rounds)
                plan, jit = _plan(conn, statement, params)
                print(f"  {_short(statement)}")
                print(f"  {'':<26} {low:8.1f} {mid:8.1f}  {'YES' if jit else 'no ':>3}  {plan}")


def run(url: str, count: int, rounds: int, *, fill: bool = True) -> None:
    if fill:
        done = populate(url, count)
        print(f"{done.url.split(':')[0]}: {count:,} incidents populated in {done.seconds:.1f} s")
    engine = make_engine(url)
    try:
        measure(engine, rounds)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--url", help="measure this database, populated already (bench/populate.py --keep)"
    )
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.url:
        run(args.url, args.incidents, args.rounds, fill=False)
    else:
        for engine in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
            with scratch_database(engine, pg_admin=args.pg_admin) as url:
                run(url, args.incidents, args.rounds)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
