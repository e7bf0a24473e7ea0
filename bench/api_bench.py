"""Throughput of ``POST /api/v1/incidents`` under gunicorn, against a bare INSERT endpoint.

For each engine (SQLite, then PostgreSQL) on a fresh, migrated database with the demo
organisation:

1. serve the real application with gunicorn (2 sync workers, 127.0.0.1) and log
   incidents through the API with a bearer token: parsing, permission checks, numbering,
   grading, the audit chain, the reporting clocks and the first escalation step;
2. serve a bare Flask endpoint the same way that does one INSERT into a table of the
   same database, through the same engine settings (WAL and ``BEGIN IMMEDIATE`` on
   SQLite, a connection pool on PostgreSQL);
3. drive both with the same client: ``--concurrency`` threads, each with its own
   ``http.client`` connection, until ``--requests`` are done or ``--seconds`` have passed.

It prints the requests per second of each and the ratio (API / bare): the price of
everything Fenghuo does on a write, relative to the cheapest write the database allows.

    .venv/bin/python bench/api_bench.py [--requests 3000] [--seconds 15] [--concurrency 8]

The client threads run on the same machine as the servers and the database, so the
figures are for one box; compare the ratios, not the absolute rates, across machines.

PostgreSQL comes from ``FENGHUO_TEST_PG_URL`` (as in the tests); a throwaway database is
created there and dropped afterwards. Without a server the PostgreSQL half is skipped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get(
    "FENGHUO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORKERS = 2
BARE_TABLE = "bench_insert"


# --- the bare endpoint (imported by gunicorn: "api_bench:bare_app()") -----------------


def bare_app() -> Any:
    """A Flask app whose one endpoint parses the JSON body and INSERTs one row."""
    from flask import Flask, jsonify, request
    from sqlalchemy import text

    from incidents.db import make_engine

    engine = make_engine(os.environ["BENCH_DATABASE_URL"])
    app = Flask("bare")

    @app.post("/bare")
    def insert() -> Any:
        body = request.get_json()
        with engine.begin() as conn:
            new_id = conn.execute(
                text(f"INSERT INTO {BARE_TABLE} (title, created_at) VALUES (:t, :c) RETURNING id"),
                {"t": body["title"], "c": datetime.now(UTC).isoformat()},
            ).scalar_one()
        return jsonify({"id": new_id}), 201

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app


# --- databases -------------------------------------------------------------------------


@dataclass
class Database:
    engine_name: str
    url: str
    token: str


def _prepare(url: str, instance: Path) -> str:
    """Migrate, load the demo organisation, create the bare table; return duty's token."""
    from sqlalchemy import text

    from app.migrate import upgrade
    from incidents.audit import system_actor
    from incidents.db import make_engine, make_sessionmaker
    from incidents.org_io import import_org
    from incidents.tokens import create_token

    instance.mkdir(parents=True, exist_ok=True)  # a SQLite file's folder must exist
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            org = (ROOT / "app" / "demo" / "organisation.yaml").read_text(encoding="utf-8")
            import_org(session, org, actor=system_actor("cli"), now=now)
            token, _row = create_token(
                session, login="duty", name="bench", actor=system_actor("cli"), now=now
            )
        serial = "SERIAL" if url.startswith("postgresql") else "INTEGER"
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE TABLE {BARE_TABLE} (id {serial} PRIMARY KEY, "
                    "title VARCHAR(300) NOT NULL, created_at VARCHAR(40) NOT NULL)"
                )
            )
    finally:
        engine.dispose()
    return token


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[Database]:
    url = f"sqlite:///{workdir / 'sqlite' / 'fenghuo.db'}"
    yield Database("sqlite", url, _prepare(url, workdir / "sqlite"))


@contextmanager
def postgres_database(workdir: Path) -> Iterator[Database | None]:
    from sqlalchemy import create_engine, text

    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # no server: report and carry on with SQLite only
        print(f"PostgreSQL not available ({str(exc).splitlines()[0]}); skipped")
        yield None
        return
    name = f"fh_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield Database("postgresql", url, _prepare(url, workdir / "postgresql"))
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


# --- servers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def gunicorn(target: str, env: dict[str, str], log: Path) -> Iterator[int]:
    """Serve ``target`` with gunicorn on a free loopback port until the block ends."""
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        f"{ROOT},{ROOT / 'bench'}",
        "--log-level",
        "warning",
        target,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out
        )
        try:
            _wait_ready(port, proc, log)
            yield port
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode}):\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                # Both workers must be up, not just the first to answer.
                time.sleep(0.5)
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on port {port}:\n{log.read_text()}")


# --- load ------------------------------------------------------------------------------


@dataclass
class Result:
    done: int
    failed: int
    seconds: float
    first_error: str

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def drive(
    port: int,
    path: str,
    make_body: Callable[[int], bytes],
    headers: dict[str, str],
    *,
    requests: int,
    seconds: float,
    concurrency: int,
) -> Result:
    """POST until ``requests`` are done or ``seconds`` have passed; count the 201s."""
    lock = threading.Lock()
    state = {"issued": 0, "done": 0, "failed": 0}
    errors: list[str] = []
    stop_at = time.monotonic() + seconds

    def claim() -> int | None:
        with lock:
            if state["issued"] >= requests or time.monotonic() >= stop_at:
                return None
            state["issued"] += 1
            return state["issued"]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while (n := claim()) is not None:
            try:
                conn.request("POST", path, body=make_body(n), headers=headers)
                reply = conn.getresponse()
                payload = reply.read()
                ok = reply.status == 201
                if not ok and not errors:
                    errors.append(f"{reply.status} {payload[:300]!r}")
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                if not errors:
                    errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                state["done" if ok else "failed"] += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return Result(state["done"], state["failed"], elapsed, errors[0] if errors else "")


def incident_body(n: int) -> bytes:
    detected = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    body = {
        "title": f"压测事件 {n}",
        "category": "network_attack",
        "detected_at": detected,
        "impact": {"people_affected": n % 200_000},
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def bare_body(n: int) -> bytes:
    return json.dumps({"title": f"压测事件 {n}"}, ensure_ascii=False).encode("utf-8")


def measure(db: Database, workdir: Path, args: argparse.Namespace) -> tuple[Result, Result]:
    instance = workdir / db.engine_name
    app_env = {
        "FENGHUO_DATABASE_URL": db.url,
        "FENGHUO_INSTANCE_PATH": str(instance),
        "FENGHUO_SECRET_KEY": "bench-" + "x" * 32,
        "FENGHUO_ENV": "development",
    }
    json_headers = {"Content-Type": "application/json"}
    load = {"requests": args.requests, "seconds": args.seconds, "concurrency": args.concurrency}
    with gunicorn("app:create_app()", app_env, instance / "api.log") as port:
        headers = {**json_headers, "Authorization": f"Bearer {db.token}"}
        drive(
            port,
            "/api/v1/incidents",
            incident_body,
            headers,
            requests=args.warmup,
            seconds=args.seconds,
            concurrency=args.concurrency,
        )
        api = drive(port, "/api/v1/incidents", incident_body, headers, **load)
    bare_env = {"BENCH_DATABASE_URL": db.url}
    with gunicorn("api_bench:bare_app()", bare_env, instance / "bare.log") as port:
        drive(
            port,
            "/bare",
            bare_body,
            json_headers,
            requests=args.warmup,
            seconds=args.seconds,
            concurrency=args.concurrency,
        )
        bare = drive(port, "/bare", bare_body, json_headers, **load)
    return api, bare


def report(name: str, api: Result, bare: Result) -> None:
    def line(label: str, r: Result) -> str:
        failed = f", {r.failed} failed ({r.first_error})" if r.failed else ""
        return f"  {label:<28} {r.rate:8.1f} req/s  ({r.done} in {r.seconds:.1f} s{failed})"

    print(f"{name}:")
    print(line("POST /api/v1/incidents", api))
    print(line("bare INSERT endpoint", bare))
    ratio = api.rate / bare.rate if bare.rate else float("nan")
    print(f"  ratio API / bare             {ratio:8.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # The time cap decides for the API, the request cap for the bare endpoint: each
    # measurement then lasts long enough to be read, and the run stays bounded.
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--seconds", type=float, default=15.0, help="time cap per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--warmup", type=int, default=20, help="requests before measuring")
    args = parser.parse_args(argv)
    print(
        f"gunicorn {WORKERS} sync workers on 127.0.0.1; {args.concurrency} client threads; "
        f"up to {args.requests} requests or {args.seconds:g} s per measurement"
    )
    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-bench-"))
    failed = False
    try:
        with sqlite_database(workdir) as lite:
            api, bare = measure(lite, workdir, args)
            report("SQLite", api, bare)
            failed |= bool(api.failed or bare.failed)
        with postgres_database(workdir) as pg:
            if pg is not None:
                api, bare = measure(pg, workdir, args)
                report("PostgreSQL", api, bare)
                failed |= bool(api.failed or bare.failed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
