"""Throughput of ``POST /api/v1/incidents`` under gunicorn, against a bare INSERT endpoint.

For each engine (``--engine``), on a scratch database migrated with the demo
organisation (``bench/harness.py``):

1. gunicorn serves the real application (2 sync workers on loopback); a bearer token of
   the duty officer logs incidents through the API: the token and permission check,
   parsing, numbering, grading, the audit chain, the reporting clocks and the first
   escalation step, in one transaction;
2. gunicorn serves, the same way, a bare Flask endpoint that parses the JSON body and
   does one INSERT into a table of the same database through the same engine settings
   (``incidents.db.make_engine``: WAL and ``BEGIN IMMEDIATE`` on SQLite, a pool on
   PostgreSQL): the yardstick;
3. a separate client process (``bench/load_client.py``) drives each in turn with
   ``--concurrency`` connections until ``--requests`` are done or ``--seconds`` pass,
   ``--repeats`` times, the API and the bare endpoint alternately so that each repeat's
   ratio compares two measurements taken moments apart.

It prints one table: the requests per second of each (median and min over the
repeats), the ratio API ÷ bare (median and min, goal ≥ 0.3), the SQL statements one
create runs (counted in this process on the same database, as
``tests/api/test_statement_budget.py`` counts them; goal ≤ 15), the load average at
each repeat, and ``fenghuo audit verify`` on the database afterwards.

    .venv/bin/python bench/api_bench.py [--engine both] [--requests 3000] [--seconds 20]
        [--repeats 3] [--concurrency 8] [--caches warm] [--json PATH]

Everything runs on one machine (servers, database, client), so compare the ratios, not
the absolute rates, across machines; the load average says how busy it was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

BARE_TABLE = "bench_insert"
API_PATH = "/api/v1/incidents"


# --- the bare endpoint (served by gunicorn as "api_bench:bare_app()") -----------------


def bare_app() -> Any:
    """A Flask app whose one endpoint parses the JSON body and INSERTs one row, through
    an engine made as the product makes its own."""
    from flask import Flask, jsonify, request
    from sqlalchemy import text

    from incidents.db import make_engine

    engine = make_engine(os.environ["FENGHUO_DATABASE_URL"])
    app = Flask("bare")
    statement = text(f"INSERT INTO {BARE_TABLE} (title, created_at) VALUES (:t, :c) RETURNING id")

    @app.post("/bare")
    def insert() -> Any:
        body = request.get_json()
        with engine.begin() as conn:
            new_id = conn.execute(
                statement, {"t": body["title"], "c": datetime.now(UTC).isoformat()}
            ).scalar_one()
        return jsonify({"id": new_id}), 201

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app


def create_bare_table(url: str) -> None:
    from sqlalchemy import text

    from incidents.db import make_engine

    serial = "SERIAL" if url.startswith("postgresql") else "INTEGER"
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE TABLE {BARE_TABLE} (id {serial} PRIMARY KEY, "
                    "title VARCHAR(300) NOT NULL, created_at VARCHAR(40) NOT NULL)"
                )
            )
    finally:
        engine.dispose()


# --- the requests --------------------------------------------------------------------


def incident_body() -> str:
    """The body the statement budget test sends, numbered: a general incident whose
    chain pages the duty officer and informs the leader on duty at once."""
    detected = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    body = {"title": "压测事件 {n}", "category": "network_attack", "detected_at": detected}
    return json.dumps(body, ensure_ascii=False)


def statements_per_create(db: harness.Scratch, token: str) -> tuple[int, Counter[str]]:
    """The statements one create runs, counted in this process on ``db`` (the second
    create of a fresh app: the first loads what every request shares)."""
    from sqlalchemy import event

    from app import create_app
    from config.settings import load_settings

    app = create_app(load_settings(db.env()))
    engine = app.extensions["fenghuo"].engine
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = incident_body()
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    try:
        client.post(API_PATH, data=body.replace("{n}", "warm"), headers=headers)
        event.listen(engine, "before_cursor_execute", listener)
        reply = client.post(API_PATH, data=body.replace("{n}", "counted"), headers=headers)
        event.remove(engine, "before_cursor_execute", listener)
        if reply.status_code != 201:
            raise RuntimeError(f"the counted create failed: {reply.status_code} {reply.data!r}")
    finally:
        engine.dispose()
    return len(seen), Counter(kind(s) for s in seen)


def kind(statement: str) -> str:
    """``INSERT obligation``, ``SELECT person``…: the verb and the first table named."""
    words = statement.replace('"', "").split()
    upper = [w.upper() for w in words]
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper[:-1]:
            return f"{upper[0]} {words[upper.index(marker) + 1].strip('(,')}"
    return upper[0]


# --- one engine ----------------------------------------------------------------------


def measure_engine(engine: str, args: argparse.Namespace, report: harness.Report) -> None:
    with harness.scratch(engine) as db:
        create_bare_table(db.url)
        token = harness.api_token(db.url)
        count, kinds = statements_per_create(db, token)
        report.add(
            harness.Row("SQL statements per create", engine, count, goal="create_statements")
        )
        listed = ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in sorted(kinds.items()))
        report.note(f"{engine}: a create's {count} statements: {listed}")
        json_type = {"Content-Type": "application/json"}
        api_request = harness.Request(
            API_PATH, "POST", incident_body(), {**json_type, "Authorization": f"Bearer {token}"}
        )
        bare_request = harness.Request(
            "/bare", "POST", json.dumps({"title": "压测事件 {n}"}, ensure_ascii=False), json_type
        )
        with (
            harness.gunicorn(db, name="api") as api_server,
            harness.gunicorn(
                db, target="api_bench:bare_app()", probe="/healthz", name="bare"
            ) as bare_server,
        ):
            api_load = load_of(api_server.port, api_request, args)
            bare_load = load_of(bare_server.port, bare_request, args)
            for cache in harness.cache_modes(args.caches):
                rounds(engine, cache, api_load, bare_load, [api_server, bare_server], args, report)
        report.add(harness.verify_audit(db))


def load_of(port: int, request: harness.Request, args: argparse.Namespace) -> harness.Load:
    return harness.Load(
        port,
        [request],
        total=args.requests,
        concurrency=args.concurrency,
        seconds=args.seconds,
        warmup=args.warmup,
        expect=(201,),
    )


def rounds(
    engine: str,
    cache: str,
    api_load: harness.Load,
    bare_load: harness.Load,
    servers: list[harness.Server],
    args: argparse.Namespace,
    report: harness.Report,
) -> None:
    """``--repeats`` rounds of API then bare; rows of the rates and of the ratios."""
    api_rates: list[float] = []
    bare_rates: list[float] = []
    ratios: list[float] = []
    loads: list[str] = []
    for _ in range(max(args.repeats, 1)):
        load = harness.loadavg()
        loads.append(f"{load[0]:.2f}")
        api = run(api_load, cache, engine, servers[0], args, report)
        bare = run(bare_load, cache, engine, servers[1], args, report)
        for name, got in (("API", api), ("bare", bare)):
            if got.failed:
                report.note(f"{engine} {cache} {name}: {got.failed} failed: {got.first_error}")
        api_rates.append(api.rate)
        bare_rates.append(bare.rate)
        ratios.append(api.rate / bare.rate if bare.rate else float("nan"))
    api_spread = harness.spread(api_rates)
    bare_spread = harness.spread(bare_rates)
    ratio_spread = harness.spread(ratios)
    report.add(
        harness.Row.from_spread(
            "POST /api/v1/incidents", engine, api_spread, unit="req/s", cache=cache
        )
    )
    report.add(
        harness.Row.from_spread(
            "bare INSERT endpoint", engine, bare_spread, unit="req/s", cache=cache
        )
    )
    report.add(
        harness.Row.from_spread(
            "create ÷ bare, per round",
            engine,
            ratio_spread,
            ratio=ratio_spread.median,
            goal="create_ratio",
            cache=cache,
            size=f"{args.requests} requests, {args.concurrency} connections",
            note=f"load average (1 min) at each round: {', '.join(loads)}",
        )
    )
    report.note(
        f"{engine} {cache}: ratio per round {', '.join(f'{r:.3f}' for r in ratios)}; "
        f"load average at each round {', '.join(loads)}"
    )


def run(
    load: harness.Load,
    cache: str,
    engine: str,
    server: harness.Server,
    args: argparse.Namespace,
    report: harness.Report,
) -> harness.LoadResult:
    if cache == "cold":
        got, note = harness.measure_cold(
            load,
            pg=engine == "postgresql",
            allow_pg_restart=args.allow_pg_restart,
            servers=[server],
        )
        if note not in report.notes:
            report.note(note)
        return got
    return harness.measure_warm(load)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_common_args(parser)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--seconds", type=float, default=20.0, help="time cap per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--warmup", type=int, default=20, help="requests before measuring")
    parser.set_defaults(caches="warm")
    args = parser.parse_args(argv)
    with harness.Report("api_bench", json_path=args.json) as report:
        report.note(
            f"gunicorn 2 sync workers per server on 127.0.0.1; a separate client process, "
            f"{args.concurrency} connections; up to {args.requests} requests or "
            f"{args.seconds:g} s per measurement; {args.repeats} rounds"
        )
        for engine in harness.engines(args.engine):
            if engine == "postgresql" and (reason := harness.pg_unavailable()) is not None:
                report.note(f"PostgreSQL skipped: {reason}")
                continue
            measure_engine(engine, args, report)
        return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
