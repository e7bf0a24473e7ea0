"""Each dashboard query, timed and explained, on a scratch database of N incidents.

Builds a scratch database by the project's migrations — a SQLite file in a temporary
folder, or a new PostgreSQL database (created here and dropped at the end) on the server
``--pg-admin`` names — and bulk-inserts ``--incidents`` incidents in one transaction
(executemany), each touching one of 100 systems that two departments use: 2 % open
(every grade; a third of them unacknowledged, one in seven of the acknowledged ones
regraded upwards with a second chain still waiting for acknowledgement), the rest
closed. Each incident has its clock, its escalation chain(s) and its reporting
obligations (pending, met, late or missed), so the dashboard's joins see realistic
tables.

Then calls each function the dashboard calls (``app.web.dashboard`` and
``escalation.stats.figures``), as one who sees everything and as a department head (the
visibility filter), records the SQL each one issues, and prints one line per statement:
its time (min and median of ``--rounds`` runs, executed alone), and its plan — on SQLite
the ``EXPLAIN QUERY PLAN`` steps (SCAN = reads the whole table, SEARCH = through an
index), on PostgreSQL ``EXPLAIN (ANALYZE, FORMAT JSON)``: the scan nodes with the rows
each read, and whether JIT compiled the query.

    .venv/bin/python bench/dashboard_queries.py [--incidents 100000] [--engine both]

Migration 0015 and the rewritten queries (2 December 2026, load average about 10):
on PostgreSQL at 300,000 incidents no statement is JIT-compiled any more (three were:
the grade lists' nearest deadline, the unacknowledged and breach counts for a
department head); what still reads whole tables is ``escalation.stats.figures``'
all-time aggregates (report shares, reported-as-required, mean times) and, per row,
the visibility filter's ``system_user`` lookups.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Connection, Engine, create_engine, event, insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.migrate import upgrade  # noqa: E402
from app.web import dashboard  # noqa: E402
from app.web.deadlines import deadlines_for  # noqa: E402
from config.policy import load_policy  # noqa: E402
from escalation.models import EscalationChain, IncidentClock, Obligation  # noqa: E402
from escalation.stats import figures  # noqa: E402
from incidents.db import make_engine  # noqa: E402
from incidents.grading import GRADES  # noqa: E402
from incidents.models import CATEGORIES, Incident, IncidentCounter, incident_systems  # noqa: E402
from incidents.org import Department, System, system_users  # noqa: E402
from incidents.permissions import Capabilities  # noqa: E402

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
BATCH = 5000
DEPARTMENTS = 20
SYSTEMS = 100  # each used by two departments; each incident touches one
OPEN_EVERY = 50  # 2 % open
GRADE_WEIGHTS = {"general": 80, "relatively_major": 15, "major": 4, "especially_major": 1}
EVERYONE = Capabilities(
    person_id=1,
    roles=frozenset({"duty_officer"}),
    department_ids=frozenset(),
    is_admin=True,
    in_command_center=True,
)
ONE_DEPARTMENT = Capabilities(
    person_id=2,
    roles=frozenset(),
    department_ids=frozenset({3}),
    is_admin=False,
    in_command_center=False,
)


def _grade(n: int) -> str:
    slot = (n * 7919) % sum(GRADE_WEIGHTS.values())
    for name, weight in GRADE_WEIGHTS.items():
        if slot < weight:
            return name
        slot -= weight
    return "general"


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def populate(engine: Engine, count: int) -> None:
    """Insert ``count`` incidents with clocks, chains and obligations, in one transaction."""
    policy = load_policy(ROOT / "config" / "policy.toml")
    categories = list(CATEGORIES)
    span = timedelta(days=3 * 365)
    snapshots = {g: json.dumps(policy.grade(g).to_dict(), ensure_ascii=False) for g in GRADES}
    steps = {g: json.dumps([s.to_dict() for s in policy.grade(g).chain]) for g in GRADES}
    seq_by_year: dict[int, int] = {}
    kept: list[tuple[int, str, str, datetime, datetime | None, datetime | None, bool]] = []

    def incidents() -> Iterator[dict[str, Any]]:
        for n in range(1, count + 1):
            detected = NOW - span + span * (n / count) - timedelta(minutes=5)
            grade = _grade(n)
            still_open = n % OPEN_EVERY == 0
            unacked = still_open and n % 3 == 0
            acknowledged = None if unacked else detected + timedelta(minutes=7)
            upgraded = still_open and not unacked and n % 7 == 0
            status = ("new" if unacked else "handling") if still_open else "closed"
            resolved = None if still_open else detected + timedelta(hours=5)
            year = detected.year
            seq_by_year[year] = seq_by_year.get(year, 0) + 1
            kept.append((n, grade, status, detected, acknowledged, resolved, upgraded))
            yield {
                "id": n,
                "number": f"FH-{year}-{seq_by_year[year]:05d}",
                "year": year,
                "seq": seq_by_year[year],
                "title": f"监测告警 {n}：{CATEGORIES[categories[n % 10]][0]}",
                "description": "",
                "category": categories[n % 10],
                "grade": grade,
                "status": status,
                "detected_at": detected,
                "occurred_at": None,
                "location": "",
                "responsible_department_id": 1 + n % DEPARTMENTS,
                "reporter_id": None,
                "handling_lead_id": None,
                "caused_by_id": None,
                "impact_json": "{}",
                "suggested_grade": "general",
                "suggestion_json": "{}",
                "below_suggestion": False,
                "acknowledged_at": acknowledged,
                "acknowledged_by_id": None,
                "handling_started_at": acknowledged,
                "resolved_at": resolved,
                "closed_at": resolved + timedelta(hours=1) if resolved else None,
                "reopen_count": 0,
                "version": 1,
                "created_at": detected,
                "updated_at": resolved or detected,
            }

    def clocks() -> Iterator[dict[str, Any]]:
        for n, grade, _status, detected, _ack, resolved, _up in kept:
            due = detected + policy.grade(grade).handling_target
            yield {
                "incident_id": n,
                "grade": grade,
                "snapshot_json": snapshots[grade],
                "reporter_category": policy.reporter_category,
                "timezone": policy.timezone,
                "handling_due_at": due,
                "handled_promptly": None if resolved is None else resolved <= due,
                "started_at": detected,
                "updated_at": detected,
            }

    def chains() -> Iterator[dict[str, Any]]:
        for n, grade, _status, detected, ack, resolved, upgraded in kept:
            first = {
                "incident_id": n,
                "generation": 1,
                "grade": grade,
                "steps_json": steps[grade],
                "reason": "opened",
                "started_at": detected,
                "acknowledged_at": ack,
                "acknowledged_by_id": None,
                "ended_at": resolved,
                "end_reason": "resolved" if resolved else "",
            }
            if upgraded:  # the first chain ended by the upgrade; the second waits
                first = {**first, "ended_at": detected + timedelta(hours=1)}
                first["end_reason"] = "upgraded"
            yield first
            if upgraded:
                yield {
                    **first,
                    "generation": 2,
                    "reason": "upgraded",
                    "started_at": detected + timedelta(hours=1),
                    "acknowledged_at": None,
                    "ended_at": None,
                    "end_reason": "",
                }

    def obligations() -> Iterator[dict[str, Any]]:
        for n, grade, status, detected, _ack, resolved, _up in kept:
            for spec in policy.grade(grade).obligations:
                window = spec.window(policy.reporter_category)
                opened = detected if spec.start == "detected" else resolved
                due = opened + window if opened is not None else None
                breached = None
                fulfilled = None
                if status == "closed":
                    assert due is not None and opened is not None
                    late = n % 17 == 0
                    state = "late" if late else "met"
                    fulfilled = due + timedelta(minutes=30) if late else opened + window / 2
                    breached = due if late else None
                elif due is not None and due <= NOW and n % 2 == 0:
                    state, breached = "missed", due
                elif due is not None and due <= NOW:
                    state, fulfilled = "met", detected + window / 2
                else:
                    state = "pending"
                yield {
                    "incident_id": n,
                    "name": spec.name,
                    "to": spec.to,
                    "title_zh": spec.title_zh,
                    "title_en": spec.title_en,
                    "start": spec.start,
                    "window": "PT1H",
                    "grade": grade,
                    "due_at": due,
                    "status": state,
                    "fulfilled_at": fulfilled,
                    "report_id": None,
                    "late_reason": "值班电话故障" if state == "late" else "",
                    "breached_at": breached,
                    "waived_reason": "",
                    "created_at": detected,
                    "updated_at": detected,
                }

    with engine.begin() as conn:
        conn.execute(
            insert(Department),
            [
                {"id": d, "code": f"d{d}", "name": f"部门{d}", "name_en": f"Dept {d}"}
                for d in range(1, DEPARTMENTS + 1)
            ],
        )
        conn.execute(
            insert(System),
            [
                {"id": y, "code": f"s{y}", "name": f"系统{y}", "owner_department_id": 1 + y % 20}
                for y in range(1, SYSTEMS + 1)
            ],
        )
        conn.execute(
            insert(system_users),
            [
                {"system_id": y, "department_id": 1 + (y + k) % DEPARTMENTS}
                for y in range(1, SYSTEMS + 1)
                for k in (0, 7)
            ],
        )
        for batch in _batches(incidents()):
            conn.execute(insert(Incident), batch)
            conn.execute(
                insert(incident_systems),
                [{"incident_id": r["id"], "system_id": 1 + r["id"] % SYSTEMS} for r in batch],
            )
        conn.execute(
            insert(IncidentCounter), [{"year": y, "last": n} for y, n in seq_by_year.items()]
        )
        for model, rows in (
            (IncidentClock, clocks()),
            (EscalationChain, chains()),
            (Obligation, obligations()),
        ):
            for batch in _batches(rows):
                conn.execute(insert(model), batch)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('incident_id_seq', (SELECT max(id) FROM incident))")
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


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


CALLS: dict[str, Callable[[Session], Any]] = {
    "grade_groups(all)": lambda s: dashboard.grade_groups(s, EVERYONE),
    "grade_groups(dept)": lambda s: dashboard.grade_groups(s, ONE_DEPARTMENT),
    "unacknowledged(all)": lambda s: dashboard.unacknowledged(s, EVERYONE),
    "unacknowledged(dept)": lambda s: dashboard.unacknowledged(s, ONE_DEPARTMENT),
    "breaches(all)": lambda s: dashboard.breaches(s, EVERYONE, NOW),
    "breaches(dept)": lambda s: dashboard.breaches(s, ONE_DEPARTMENT, NOW),
    "deadlines_for(24)": lambda s: deadlines_for(s, list(range(OPEN_EVERY, 25 * OPEN_EVERY, 50))),
    "stats.figures": lambda s: figures(s, now=NOW, tz=TZ),
}


def measure(engine: Engine, rounds: int) -> None:
    print(f"{'call / statement':<28} {'min ms':>8} {'med ms':>8}  jit  plan")
    for name, call in CALLS.items():
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


def run(url: str, count: int, rounds: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        populate(engine, count)
        print(
            f"{engine.dialect.name}: {count:,} incidents inserted in "
            f"{time.perf_counter() - started:.1f} s"
        )
        measure(engine, rounds)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="fenghuo-dashboard-bench-") as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.incidents, args.rounds)
    if args.engine in ("postgresql", "both"):
        admin = create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
        name = f"fh_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(args.pg_admin.rsplit("/", 1)[0] + "/" + name, args.incidents, args.rounds)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
