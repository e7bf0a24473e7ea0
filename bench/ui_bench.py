"""Server time of the dashboard and the incident list with 100,000 incidents.

On a fresh, migrated SQLite database with the demo organisation, bulk-insert
``--incidents`` incidents (default 100,000) spread over three years: 1 % still open
(every grade, some with a breached report), the rest closed with their reports met or
late. Each incident has its clock, its escalation chain and its reporting obligations
as the policy sets them, so the dashboard's joins see realistic tables.

Then request, in-process through the WSGI app (so the figure is the server's time,
without a network), as the duty officer (who sees everything) and as a department head
(whose visibility filter is the more expensive one):

- the dashboard page and its live JSON document;
- the incident list: the first page, a page deep in the record (keyset cursor at the
  middle id), filtered by grade and status, filtered by a date range, and a text search.

Each is requested ``--rounds`` times after one warm-up; it prints p50, p95 and max in
milliseconds, and whether p95 is under the 200 ms target. The dashboard's figures are
reused while the record has not changed (see ``app.web.dashboard.cached_figures``); the
cost of recomputing them, paid once per change or per 30 s, is printed on its own line.

    .venv/bin/python bench/ui_bench.py [--incidents 100000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import Services  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from config.policy import Policy  # noqa: E402
from config.settings import load_settings  # noqa: E402
from escalation.models import EscalationChain, IncidentClock, Obligation  # noqa: E402
from escalation.stats import figures  # noqa: E402
from incidents.accounts import set_password  # noqa: E402
from incidents.audit import system_actor  # noqa: E402
from incidents.clock import FrozenClock  # noqa: E402
from incidents.grading import GRADES  # noqa: E402
from incidents.models import CATEGORIES, Incident, IncidentCounter  # noqa: E402
from incidents.org import Department, Person  # noqa: E402
from incidents.org_io import import_org  # noqa: E402

PASSWORD = "bench-password"  # a throwaway database
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TARGET_MS = 200.0
BATCH = 5000
# Most incidents are general; the serious grades are rare.
GRADE_WEIGHTS = {"general": 80, "relatively_major": 15, "major": 4, "especially_major": 1}


def _pick(n: int, weights: dict[str, int]) -> str:
    total = sum(weights.values())
    slot = (n * 7919) % total
    for name, weight in weights.items():
        if slot < weight:
            return name
        slot -= weight
    return next(iter(weights))


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def populate(app: Flask, count: int) -> None:
    """Bulk-insert ``count`` incidents with their clocks, chains and obligations."""
    services: Services = app.extensions["fenghuo"]
    policy: Policy = services.policy
    with services.sessions() as s:
        departments = list(s.scalars(select(Department.id).order_by(Department.id)))
        reporter = s.scalars(select(Person.id).where(Person.login == "duty")).one()
    categories = list(CATEGORIES)
    open_every = 100  # 1 % open
    span = timedelta(days=3 * 365)
    snapshots = {g: json.dumps(policy.grade(g).to_dict(), ensure_ascii=False) for g in GRADES}
    seq_by_year: dict[int, int] = {}

    def incidents() -> Iterator[dict[str, Any]]:
        for n in range(1, count + 1):
            detected = NOW - span + span * (n / count) - timedelta(minutes=5)
            grade = _pick(n, GRADE_WEIGHTS)
            still_open = n % open_every == 0
            year = detected.year
            seq_by_year[year] = seq_by_year.get(year, 0) + 1
            seq = seq_by_year[year]
            acknowledged = None if still_open and n % 3 == 0 else detected + timedelta(minutes=7)
            status = ("new" if acknowledged is None else "handling") if still_open else "closed"
            resolved = None if still_open else detected + timedelta(hours=5)
            yield {
                "id": n,
                "number": f"FH-{year}-{seq:05d}",
                "year": year,
                "seq": seq,
                "title": f"监测告警 {n}：{CATEGORIES[categories[n % 10]][0]}",
                "description": "",
                "category": categories[n % 10],
                "grade": grade,
                "status": status,
                "detected_at": detected,
                "occurred_at": None,
                "location": "",
                "responsible_department_id": departments[n % len(departments)],
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
            }

    engine = services.engine
    with engine.begin() as conn:
        rows_by_id: dict[int, dict[str, Any]] = {}
        for batch in _batches(incidents()):
            conn.execute(insert(Incident), batch)
            for row in batch:
                rows_by_id[row["id"]] = {
                    k: row[k]
                    for k in ("grade", "status", "detected_at", "acknowledged_at", "resolved_at")
                }
        conn.execute(
            insert(IncidentCounter), [{"year": y, "last": n} for y, n in seq_by_year.items()]
        )

        def clocks() -> Iterator[dict[str, Any]]:
            for n, row in rows_by_id.items():
                gp = policy.grade(row["grade"])
                due = row["detected_at"] + gp.handling_target
                yield {
                    "incident_id": n,
                    "grade": row["grade"],
                    "snapshot_json": snapshots[row["grade"]],
                    "reporter_category": policy.reporter_category,
                    "timezone": policy.timezone,
                    "handling_due_at": due,
                    "handled_promptly": None
                    if row["resolved_at"] is None
                    else row["resolved_at"] <= due,
                    "started_at": row["detected_at"],
                    "updated_at": row["detected_at"],
                }

        def chains() -> Iterator[dict[str, Any]]:
            for n, row in rows_by_id.items():
                steps = json.dumps([s.to_dict() for s in policy.grade(row["grade"]).chain])
                yield {
                    "incident_id": n,
                    "generation": 1,
                    "grade": row["grade"],
                    "steps_json": steps,
                    "reason": "opened",
                    "started_at": row["detected_at"],
                    "acknowledged_at": row["acknowledged_at"],
                    "acknowledged_by_id": reporter if row["acknowledged_at"] else None,
                    "ended_at": row["resolved_at"],
                    "end_reason": "resolved" if row["resolved_at"] else "",
                }

        def obligations() -> Iterator[dict[str, Any]]:
            for n, row in rows_by_id.items():
                for spec in policy.grade(row["grade"]).obligations:
                    window = spec.window(policy.reporter_category)
                    opened = row["detected_at"] if spec.start == "detected" else row["resolved_at"]
                    due = opened + window if opened is not None else None
                    if row["status"] == "closed":
                        assert due is not None  # a closed incident was resolved
                        late = n % 17 == 0
                        status, fulfilled = (
                            ("late", due + timedelta(minutes=30))
                            if late
                            else ("met", (opened or row["detected_at"]) + window / 2)
                        )
                        breached = due if late else None
                    elif due is not None and due <= NOW and n % 2 == 0:
                        status, fulfilled, breached = "missed", None, due
                    elif due is not None and due <= NOW:
                        status, fulfilled, breached = "met", row["detected_at"] + window / 2, None
                    else:
                        status, fulfilled, breached = "pending", None, None
                    yield {
                        "incident_id": n,
                        "name": spec.name,
                        "to": spec.to,
                        "title_zh": spec.title_zh,
                        "title_en": spec.title_en,
                        "start": spec.start,
                        "window": "PT1H",
                        "grade": row["grade"],
                        "due_at": due,
                        "status": status,
                        "fulfilled_at": fulfilled,
                        "report_id": None,
                        "late_reason": "值班电话故障" if status == "late" else "",
                        "breached_at": breached,
                        "waived_reason": "",
                        "created_at": row["detected_at"],
                        "updated_at": row["detected_at"],
                    }

        for model, rows in (
            (IncidentClock, clocks()),
            (EscalationChain, chains()),
            (Obligation, obligations()),
        ):
            for batch in _batches(rows):
                conn.execute(insert(model), batch)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")


def login(app: Flask, login_name: str) -> FlaskClient:
    client = app.test_client()
    reply = client.post("/login", data={"login": login_name, "password": PASSWORD})
    assert reply.status_code == 302, reply.status_code
    return client


def measure(call: Callable[[], Any], rounds: int) -> list[float]:
    call()  # warm-up: templates compiled, caches filled
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> bool:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    ok = p95 < TARGET_MS
    print(
        f"  {name:<44} p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {ordered[-1]:7.1f} ms   {'ok' if ok else 'OVER 200 ms'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fenghuo-ui-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        clock = FrozenClock(NOW)
        settings = load_settings(
            {
                "FENGHUO_DATABASE_URL": url,
                "FENGHUO_INSTANCE_PATH": str(Path(tmp) / "instance"),
                "FENGHUO_ENV": "test",
                "FENGHUO_SECRET_KEY": "bench-" * 6,
            }
        )
        app = create_app(settings, clock=clock, overrides={"WTF_CSRF_ENABLED": False})
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
        started = time.perf_counter()
        populate(app, args.incidents)
        print(
            f"{args.incidents:,} incidents inserted in {time.perf_counter() - started:.1f} s "
            f"(SQLite, {1 + args.incidents // 100:,} open)"
        )
        with services.sessions() as s:
            begun = time.perf_counter()
            figures(s, now=NOW, tz=services.policy.tz)
            cold = (time.perf_counter() - begun) * 1000
        print(
            f"  today's figures recomputed (escalation.stats.figures): {cold:.0f} ms, "
            "once per change of the record or per 30 s"
        )

        middle = args.incidents // 2
        pages = {
            "dashboard": "/",
            "dashboard live JSON": "/live/dashboard.json",
            "list: first page": "/incidents",
            f"list: deep page (before={middle})": f"/incidents?before={middle}",
            "list: major, handling": "/incidents?grade=major&status=handling",
            "list: detected in one month": "/incidents?since=2025-03-01&until=2025-03-31",
            "list: search a number": "/incidents?q=FH-2025-0123",
        }
        all_ok = True
        for who in ("duty", "trafhead"):
            client = login(app, who)
            print(f"as {who}:")
            for name, path in pages.items():

                def call(path: str = path, client: FlaskClient = client) -> None:
                    reply = client.get(path)
                    assert reply.status_code == 200, (path, reply.status_code)

                all_ok &= report(name, measure(call, args.rounds))
        services.engine.dispose()
    print("all under 200 ms at p95" if all_ok else "some pages are over 200 ms at p95")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
