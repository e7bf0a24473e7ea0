"""The incident list's queries and its page, timed in-process on a database that grows.

``build`` migrates a database (a SQLite file, or a PostgreSQL URL whose database exists
and is empty), loads the demo organisation plus ``--departments`` more departments and
``--systems`` more systems (each used by two departments, so a department head's
visibility filter is selective), sets one password for ``duty`` (sees everything) and
``trafhead`` (a department head), and bulk-inserts incidents ``1..N``. ``grow`` inserts
incidents ``N+1..M`` into the same database: the record grows the way a province's does,
newest last, one incident every 90 seconds, 2 % still open, each with its clock, its
escalation chain and its reporting obligations.

Titles mix common and rare words, so search is measured for both: a common two-character
word (勒索, in about 5 % of titles), a rare one (暗链, one in 10,000), a common
three-or-more-character phrase (门户网站, 5 %) and a rare one (供应链投毒, one in 10,000),
and an exact incident number.

``measure`` requests each list page through the WSGI app in-process (the server's time,
no network), as ``duty`` and as ``trafhead``: p50/p95/max of ``--rounds`` requests after
one cold request (reported apart), the SQL statements one page issues, and with
``--explain`` each statement's plan (SQLite ``EXPLAIN QUERY PLAN``; PostgreSQL ``EXPLAIN
(ANALYZE, BUFFERS)``: scans, rows read, buffers).

    .venv/bin/python bench/list_queries.py build URL --incidents 100000
    .venv/bin/python bench/list_queries.py measure URL [--rounds 30] [--explain]
    .venv/bin/python bench/list_queries.py grow URL --to 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import Connection, Engine, event, func, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import Services  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from config.policy import Policy, load_policy  # noqa: E402
from config.settings import load_settings  # noqa: E402
from escalation.models import EscalationChain, IncidentClock, Obligation  # noqa: E402
from incidents.accounts import set_password  # noqa: E402
from incidents.audit import system_actor  # noqa: E402
from incidents.clock import FrozenClock  # noqa: E402
from incidents.db import make_engine  # noqa: E402
from incidents.grading import GRADES  # noqa: E402
from incidents.models import CATEGORIES, Incident, IncidentCounter, incident_systems  # noqa: E402
from incidents.org import Department, Person, System, system_users  # noqa: E402
from incidents.org_io import import_org  # noqa: E402

PASSWORD = "bench-password"  # a throwaway database
# The newest incident of a 1,000,000 record is detected just before NOW.
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
STEP = timedelta(seconds=90)
FULL = 1_000_000
EPOCH = NOW - FULL * STEP
BATCH = 5000
OPEN_EVERY = 50  # 2 % open
GRADE_WEIGHTS = {"general": 80, "relatively_major": 15, "major": 4, "especially_major": 1}
# (phrase, one title in how many) — the rest get an ordinary phrase.
RARE = ((10_007, "供应链投毒植入暗链"),)
COMMON = ((20, "遭勒索病毒加密"), (19, "门户网站被篡改"))
ORDINARY = ("异常登录告警", "流量攻击", "钓鱼邮件", "设备故障", "违规外联", "漏洞利用")
SEARCHES = {
    "2 chars, common (勒索)": "勒索",
    "2 chars, rare (暗链)": "暗链",
    "3+ chars, common (门户网站)": "门户网站",
    "3+ chars, rare (供应链投毒)": "供应链投毒",
}


def _pick(n: int) -> str:
    slot = (n * 7919) % sum(GRADE_WEIGHTS.values())
    for name, weight in GRADE_WEIGHTS.items():
        if slot < weight:
            return name
        slot -= weight
    return "general"


def _phrase(n: int) -> str:
    for every, phrase in (*RARE, *COMMON):
        if n % every == 0:
            return phrase
    return ORDINARY[n % len(ORDINARY)]


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _app(url: str, instance: Path) -> Flask:
    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": url,
            "FENGHUO_INSTANCE_PATH": str(instance),
            "FENGHUO_ENV": "test",
            "FENGHUO_SECRET_KEY": "bench-" * 6,
        }
    )
    return create_app(settings, clock=FrozenClock(NOW), overrides={"WTF_CSRF_ENABLED": False})


def build(url: str, count: int, departments: int, systems: int) -> None:
    upgrade(url)
    with tempfile.TemporaryDirectory(prefix="fenghuo-list-bench-") as tmp:
        app = _app(url, Path(tmp))
        services: Services = app.extensions["fenghuo"]
        with services.sessions() as s, s.begin():
            import_org(
                s,
                (ROOT / "app" / "demo" / "organisation.yaml").read_text(encoding="utf-8"),
                actor=system_actor("cli"),
                now=NOW,
            )
            for person in s.scalars(select(Person).where(Person.login.in_(("duty", "trafhead")))):
                set_password(
                    s, person=person, password=PASSWORD, actor=system_actor("cli"), now=NOW
                )
        engine = services.engine
        with engine.begin() as conn:
            first = int(conn.scalar(select(func.max(Department.id))) or 0) + 1
            conn.execute(
                insert(Department),
                [
                    {"code": f"bench-d{d}", "name": f"分局{d}", "name_en": f"Branch {d}"}
                    for d in range(departments)
                ],
            )
            extra = list(range(first, first + departments))
            conn.execute(
                insert(System),
                [
                    {
                        "code": f"bench-s{y}",
                        "name": f"业务系统{y}",
                        "owner_department_id": extra[y % departments],
                    }
                    for y in range(systems)
                ],
            )
            made = list(
                conn.scalars(
                    select(System.id).where(System.code.like("bench-s%")).order_by(System.id)
                )
            )
            conn.execute(
                insert(system_users),
                [
                    {"system_id": y, "department_id": extra[(i + k) % departments]}
                    for i, y in enumerate(made)
                    for k in (0, 7)
                ],
            )
        engine.dispose()
    grow(url, count)


def grow(url: str, to: int) -> None:
    """Insert incidents ``max(id)+1 .. to`` with clocks, chains and obligations."""
    engine = make_engine(url)
    policy = load_policy(ROOT / "config" / "policy.toml")
    started = time.perf_counter()
    with engine.begin() as conn:
        start = int(conn.scalar(select(func.max(Incident.id))) or 0) + 1
        _insert(conn, policy, start, to)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    print(f"incidents {start:,}..{to:,} inserted in {time.perf_counter() - started:.1f} s")


def _insert(conn: Connection, policy: Policy, start: int, stop: int) -> None:
    systems = list(conn.execute(select(System.id, System.owner_department_id).order_by(System.id)))
    reporter = conn.scalar(select(Person.id).where(Person.login == "duty"))
    counters = dict(conn.execute(select(IncidentCounter.year, IncidentCounter.last)).all())
    fresh = set(range(2000, 2100)) - set(counters)
    categories = list(CATEGORIES)
    snapshots = {g: json.dumps(policy.grade(g).to_dict(), ensure_ascii=False) for g in GRADES}
    steps = {g: json.dumps([s.to_dict() for s in policy.grade(g).chain]) for g in GRADES}
    kept: list[tuple[int, str, str, datetime, datetime | None, datetime | None]] = []

    def incidents() -> Iterator[dict[str, Any]]:
        for n in range(start, stop + 1):
            detected = EPOCH + n * STEP
            grade = _pick(n)
            still_open = n % OPEN_EVERY == 0
            acknowledged = None if still_open and n % 3 == 0 else detected + timedelta(minutes=7)
            status = ("new" if acknowledged is None else "handling") if still_open else "closed"
            resolved = None if still_open else detected + timedelta(hours=5)
            counters[detected.year] = counters.get(detected.year, 0) + 1
            system_id, owner = systems[n % len(systems)]
            kept.append((n, grade, status, detected, acknowledged, resolved))
            yield {
                "id": n,
                "number": f"FH-{detected.year}-{counters[detected.year]:05d}",
                "year": detected.year,
                "seq": counters[detected.year],
                "title": f"业务系统{n % 997}{_phrase(n)}",
                "description": "",
                "category": categories[n % 10],
                "grade": grade,
                "status": status,
                "detected_at": detected,
                "occurred_at": None,
                "location": "",
                "responsible_department_id": owner,
                "reporter_id": reporter,
                "handling_lead_id": None,
                "caused_by_id": None,
                "impact_json": "{}",
                "suggested_grade": "general",
                "suggestion_json": "{}",
                "below_suggestion": False,
                "acknowledged_at": acknowledged,
                "acknowledged_by_id": reporter if acknowledged else None,
                "handling_started_at": acknowledged,
                "resolved_at": resolved,
                "closed_at": resolved + timedelta(hours=1) if resolved else None,
                "reopen_count": 0,
                "version": 1,
                "created_at": detected,
                "updated_at": resolved or detected,
                "_system": system_id,
            }

    def clocks() -> Iterator[dict[str, Any]]:
        for n, grade, _status, detected, _ack, resolved in kept:
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
        for n, grade, _status, detected, ack, resolved in kept:
            yield {
                "incident_id": n,
                "generation": 1,
                "grade": grade,
                "steps_json": steps[grade],
                "reason": "opened",
                "started_at": detected,
                "acknowledged_at": ack,
                "acknowledged_by_id": reporter if ack else None,
                "ended_at": resolved,
                "end_reason": "resolved" if resolved else "",
            }

    def obligations() -> Iterator[dict[str, Any]]:
        for n, grade, status, detected, _ack, resolved in kept:
            for spec in policy.grade(grade).obligations:
                window = spec.window(policy.reporter_category)
                opened = detected if spec.start == "detected" else resolved
                due = opened + window if opened is not None else None
                breached = fulfilled = None
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

    for batch in _batches(incidents()):
        links = [{"incident_id": r["id"], "system_id": r.pop("_system")} for r in batch]
        conn.execute(insert(Incident), batch)
        conn.execute(insert(incident_systems), links)
    for model, rows in (
        (IncidentClock, clocks()),
        (EscalationChain, chains()),
        (Obligation, obligations()),
    ):
        for batch in _batches(rows):
            conn.execute(insert(model), batch)
    for year, last in counters.items():
        if year in fresh:
            conn.execute(insert(IncidentCounter).values(year=year, last=last))
        else:
            conn.execute(
                IncidentCounter.__table__.update()
                .where(IncidentCounter.year == year)
                .values(last=last)
            )
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT setval('incident_id_seq', (SELECT max(id) FROM incident))")


# --- measuring ------------------------------------------------------------------------


def _login(app: Flask, login_name: str) -> FlaskClient:
    client = app.test_client()
    reply = client.post("/login", data={"login": login_name, "password": PASSWORD})
    assert reply.status_code == 302, reply.status_code
    return client


def pages(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        top = int(conn.scalar(select(func.max(Incident.id))) or 0)
        number = conn.scalar(select(Incident.number).where(Incident.id == 50_001))
    month = (EPOCH + 50_000 * STEP).date()
    return {
        "first page": "/incidents",
        "deep page (keyset)": f"/incidents?before={top // 2}",
        "major, handling": "/incidents?grade=major&status=handling",
        "one month detected": f"/incidents?since={month}&until={month + timedelta(days=30)}",
        **{f"search {name}": f"/incidents?q={query}" for name, query in SEARCHES.items()},
        "search an exact number": f"/incidents?q={number}",
    }


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _explain(conn: Connection, statement: str, params: Any) -> list[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        return [str(r[-1]) for r in rows]
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
    return [str(r[0]) for r in rows]


class _SqlTime:
    """Seconds spent inside the database driver (cursor execute), summed."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._started = 0.0

    def before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def after(self, *_: Any) -> None:
        self.spent += time.perf_counter() - self._started


def measure(url: str, rounds: int, explain: bool, only: str) -> None:
    with tempfile.TemporaryDirectory(prefix="fenghuo-list-bench-") as tmp:
        app = _app(url, Path(tmp))
        services: Services = app.extensions["fenghuo"]
        engine = services.engine
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(Incident))
        print(
            f"{engine.dialect.name}: {total:,} incidents; load average "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        seen: list[tuple[str, Any]] = []

        def listen(_c: Connection, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            seen.append((statement, params))

        sql = _SqlTime()
        for who in ("duty", "trafhead"):
            client = _login(app, who)
            print(f"as {who}:")
            for name, path in pages(engine).items():
                if only and only not in name:
                    continue
                seen.clear()
                event.listen(engine, "before_cursor_execute", listen)
                started = time.perf_counter()
                reply = client.get(path)
                cold = (time.perf_counter() - started) * 1000
                event.remove(engine, "before_cursor_execute", listen)
                assert reply.status_code == 200, (path, reply.status_code)
                statements = list(seen)
                times, in_sql, cpu = [], [], []
                event.listen(engine, "before_cursor_execute", sql.before)
                event.listen(engine, "after_cursor_execute", sql.after)
                for _ in range(rounds):
                    sql.spent = 0.0
                    started, used = time.perf_counter(), time.process_time()
                    client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - used) * 1000)
                    in_sql.append(sql.spent * 1000)
                event.remove(engine, "before_cursor_execute", sql.before)
                event.remove(engine, "after_cursor_execute", sql.after)
                print(
                    f"  {name:<30} first {cold:7.1f}  p50 {statistics.median(times):7.1f}  "
                    f"p95 {_p95(times):7.1f}  max {max(times):7.1f} ms  "
                    f"(CPU p50 {statistics.median(cpu):6.1f}, "
                    f"in execute {statistics.median(in_sql):6.1f})"
                    f"  {len(statements)} statements"
                )
                if explain:
                    with engine.connect() as conn:
                        for statement, params in statements:
                            head = " ".join(statement.split())
                            if not head.upper().startswith("SELECT"):
                                continue
                            print(f"      {head[:150]}")
                            for line in _explain(conn, statement, params):
                                print(f"        {line}")
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("url")
    b.add_argument("--incidents", type=int, default=100_000)
    b.add_argument("--departments", type=int, default=30)
    b.add_argument("--systems", type=int, default=100)
    g = sub.add_parser("grow")
    g.add_argument("url")
    g.add_argument("--to", type=int, required=True)
    m = sub.add_parser("measure")
    m.add_argument("url")
    m.add_argument("--rounds", type=int, default=30)
    m.add_argument("--explain", action="store_true")
    m.add_argument("--only", default="", help="only the pages whose name contains this")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.url, args.incidents, args.departments, args.systems)
    elif args.command == "grow":
        grow(args.url, args.to)
    else:
        measure(args.url, args.rounds, args.explain, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
