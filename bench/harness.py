"""The benches' shared harness: scratch databases, real processes, caches, figures.

Issue 11 asks the benches to measure what an operator would see: gunicorn serving the
real application, the worker as its own process, HTTP from a separate client process,
on both engines, with cold and warm caches reported apart, and every figure set against
a yardstick measured in the same run, with the machine's load average beside it.

What a bench uses (``sys.path.insert(0, <bench folder>); import harness``)::

    parser = argparse.ArgumentParser(); harness.add_common_args(parser)   # + size flags
    args = parser.parse_args(argv)
    report = harness.Report("ui_bench", json_path=args.json)
    for engine in harness.engines(args.engine):
        with harness.scratch(engine) as db:               # migrated, demo org imported
            with harness.worker(db, sweep_seconds=1) as w, harness.gunicorn(db) as web:
                load = harness.Load(web.port, [harness.Request("/dashboard", headers=h)],
                                    total=200, concurrency=4)
                for cache in harness.cache_modes(args.caches):
                    if cache == "cold":
                        got, note = harness.measure_cold(load, pg=engine == "postgresql",
                            allow_pg_restart=args.allow_pg_restart, servers=[web, w])
                        report.note(note)
                    else:
                        got = harness.measure_warm(load)
                    p95 = harness.percentiles(got.latencies).p95 * 1e3
                    report.add(harness.Row("dashboard p95", engine, p95, "ms",
                                           cache=cache, goal="dashboard_p95"))
            report.add(harness.verify_audit(db))          # every bench, every engine
    return report.finish()                                # one table; JSON if --json

- databases: :func:`scratch` (→ :class:`Scratch`: ``url``, ``instance``, ``env()``),
  :func:`sqlite_database`, :func:`pg_database` (yield the URL), :func:`pg_unavailable`,
  :func:`prepare`, :func:`api_token`, :data:`DEMO_ORG`, :data:`PG_ADMIN_URL`;
- processes: :func:`gunicorn` (→ :class:`Server`, ``port``, ``restart()``; the app or a
  bench's own ``module:factory()``), :func:`worker` (→ :class:`Worker`;
  ``python -m escalation.worker`` with ``channels`` and a ``channel_factory`` from
  bench/), :func:`run_client` (a :class:`Load` of :class:`Request` objects, in
  bench/load_client.py's process → :class:`LoadResult`: latencies, statuses, rate),
  :data:`STARTUP_TIMEOUT` (one shared start-up timeout; each waits for a ready
  handshake, never a fixed sleep);
- caches: :func:`cold_caches`, :func:`measure_cold`, :func:`measure_warm`,
  :func:`drop_os_cache`, :func:`cache_modes`;
- figures (bench/report.py): :func:`percentiles`, :func:`percentile`, :func:`repeat`,
  :func:`spread` (min and median of repeats), :func:`loadavg`, :class:`Row`,
  :class:`Report`, :data:`GOALS`;
- :func:`verify_audit` (``fenghuo audit verify`` as its own process; a row).

**The interface between ``bench/run.py`` and each bench.** A bench is a script in
``bench/`` with ``main(argv: list[str] | None = None) -> int`` and
``raise SystemExit(main())`` under ``__main__``. It accepts the common flags
(:func:`add_common_args`): ``--engine sqlite|postgresql|both``, ``--json PATH``,
``--repeats R``, ``--caches warm|cold|both``, ``--allow-pg-restart``; and its own size
flags, which ``bench/run.py`` passes for ``--short`` and ``--full`` (the plan is in
run.py: lag_bench ``--timers``; api_bench ``--requests --seconds``; ui_bench
``--incidents --small-incidents --rounds``; telegram_burst ``--chats --per-chat``;
sweep_bench ``--small --large --runs``). With ``--json PATH`` it writes
:meth:`Report.as_dict` there: ``{"bench", "rows": [Row...], "notes", "load_start",
"load_end", "cores", "commit", "failed"}``. A row with ``goal`` set to an id of
:data:`GOALS` counts for that goal of issue 11; each row of a goal must meet it. Exit
status: 0 when measured (goals met or not), non-zero when the bench could not measure
or the audit chain is broken.

The scratch databases: a migrated SQLite file (WAL, as ``incidents.db.make_engine``
sets it) in a temporary folder, or a throwaway PostgreSQL database created on
``FENGHUO_TEST_PG_URL``'s server (default 127.0.0.1:5432, user postgres) and dropped
afterwards. Every process of a bench (this one, gunicorn, the worker, ``audit verify``)
gets the same audit key and secret (:func:`app_env`), so the chain written by one is
verified by another.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (str(ROOT), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from load_client import Load, LoadResult, Request  # noqa: E402
from report import (  # noqa: E402
    GOALS,
    Goal,
    Percentiles,
    Report,
    Row,
    Spread,
    git_commit,
    loadavg,
    percentile,
    percentiles,
    repeat,
    spread,
    table,
)

__all__ = [
    "GOALS",
    "Goal",
    "Load",
    "LoadResult",
    "Percentiles",
    "Report",
    "Request",
    "Row",
    "Spread",
    "git_commit",
    "loadavg",
    "percentile",
    "percentiles",
    "repeat",
    "spread",
    "table",
]

PG_ADMIN_URL = os.environ.get(
    "FENGHUO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEMO_ORG = ROOT / "app" / "demo" / "organisation.yaml"
ENGINES = ("sqlite", "postgresql")
# One start-up timeout for every process a bench waits for (gunicorn, the worker,
# PostgreSQL after a restart): generous, since the machine may be shared.
STARTUP_TIMEOUT = float(os.environ.get("FENGHUO_BENCH_STARTUP_TIMEOUT", "120"))
STOP_TIMEOUT = 30.0

# The same audit key and secret for this process and every child, set before anything
# writes an audit event (incidents.audit reads the key from the environment once).
os.environ.setdefault("FENGHUO_AUDIT_KEY", "fenghuo-bench-audit-key-" + "k" * 32)
os.environ.setdefault("FENGHUO_SECRET_KEY", "fenghuo-bench-secret-" + "s" * 32)
os.environ.setdefault("PTB_TIMEDELTA", "true")


# --- command line ----------------------------------------------------------------------


def engines(arg: str) -> list[str]:
    """``--engine``'s value as the engines to run: sqlite, postgresql or both."""
    if arg == "both":
        return list(ENGINES)
    if arg not in ENGINES:
        raise argparse.ArgumentTypeError(f"--engine must be sqlite, postgresql or both: {arg}")
    return [arg]


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The flags every bench accepts (see the module's doc)."""
    parser.add_argument("--engine", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--json", type=Path, default=None, help="write the rows here as JSON")
    parser.add_argument("--repeats", type=int, default=3, help="measure each figure R times")
    parser.add_argument("--caches", default="both", choices=("warm", "cold", "both"))
    parser.add_argument(
        "--allow-pg-restart",
        action="store_true",
        default=os.environ.get("FENGHUO_BENCH_RESTART_PG") == "1",
        help="restart the PostgreSQL cluster for cold figures (it is shared: off by default)",
    )


def cache_modes(arg: str) -> list[str]:
    """``--caches``'s value as the modes to measure, cold first."""
    return ["cold", "warm"] if arg == "both" else [arg]


# --- scratch databases -----------------------------------------------------------------


@dataclass(frozen=True)
class Scratch:
    """A scratch database and the instance folder its processes share."""

    engine: str
    url: str
    instance: Path

    def env(self, **extra: str) -> dict[str, str]:
        return app_env(self.url, self.instance, **extra)


def app_env(url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment a child process of the product needs for ``url``."""
    return {
        **os.environ,
        "FENGHUO_DATABASE_URL": url,
        "FENGHUO_INSTANCE_PATH": str(instance),
        "FENGHUO_ENV": "development",
        "FENGHUO_WORKER_CONSOLE": "false",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH), os.environ.get("PYTHONPATH", "")]),
        **extra,
    }


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot be used here (no PostgreSQL server)."""


def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (one line), or None when its server answers."""
    from sqlalchemy import create_engine, text

    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            admin.dispose()
    except Exception as exc:  # any failure to connect: say it and let the caller skip
        return str(exc).splitlines()[0]
    return None


def prepare(url: str, *, demo: bool = True, now: datetime | None = None) -> None:
    """Migrate ``url`` to the head and import the demo organisation (as the benches and
    ``fenghuo run`` do)."""
    from app.migrate import upgrade

    upgrade(url)
    if not demo:
        return
    from incidents.audit import system_actor
    from incidents.db import make_engine, make_sessionmaker
    from incidents.org_io import import_org

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            import_org(
                session,
                DEMO_ORG.read_text(encoding="utf-8"),
                actor=system_actor("cli"),
                now=now or datetime.now(UTC),
            )
    finally:
        engine.dispose()


def api_token(url: str, login: str = "duty", *, scope: str = "full") -> str:
    """A bearer token for ``login`` (the demo's duty officer by default)."""
    from incidents.audit import system_actor
    from incidents.db import make_engine, make_sessionmaker
    from incidents.tokens import create_token

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            token, _row = create_token(
                session,
                login=login,
                name="bench",
                actor=system_actor("cli"),
                now=datetime.now(UTC),
                scope=scope,
            )
    finally:
        engine.dispose()
    return token


@contextmanager
def sqlite_database(*, demo: bool = True, now: datetime | None = None) -> Iterator[str]:
    """A migrated SQLite file in a temporary folder (with the demo org, imported at
    ``now``); yields its URL."""
    with scratch("sqlite", demo=demo, now=now) as db:
        yield db.url


@contextmanager
def pg_database(*, demo: bool = True, now: datetime | None = None) -> Iterator[str | None]:
    """A throwaway, migrated PostgreSQL database (with the demo org, imported at ``now``);
    yields its URL, or None (after printing why) when there is no server."""
    reason = pg_unavailable()
    if reason is not None:
        print(f"PostgreSQL skipped: {reason}")
        yield None
        return
    with scratch("postgresql", demo=demo, now=now) as db:
        yield db.url


@contextmanager
def scratch(engine: str, *, demo: bool = True, now: datetime | None = None) -> Iterator[Scratch]:
    """A scratch database of ``engine``, migrated, with the demo organisation (imported
    at ``now``, default the wall clock's) unless ``demo=False``; removed (SQLite) or
    dropped (PostgreSQL) when the block ends. Raises :class:`EngineUnavailable` when
    PostgreSQL has no server."""
    folder = Path(tempfile.mkdtemp(prefix=f"fenghuo-bench-{engine}-"))
    instance = folder / "instance"
    instance.mkdir()
    try:
        if engine == "sqlite":
            url = f"sqlite:///{instance / 'fenghuo.db'}"
            prepare(url, demo=demo, now=now)
            yield Scratch(engine, url, instance)
        elif engine == "postgresql":
            with _pg_scratch() as url:
                prepare(url, demo=demo, now=now)
                yield Scratch(engine, url, instance)
        else:
            raise ValueError(f"unknown engine {engine!r}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _pg_scratch() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    reason = pg_unavailable()
    if reason is not None:
        raise EngineUnavailable(f"PostgreSQL: {reason}")
    name = f"fh_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
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


# --- processes -------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _preexec() -> None:
    from app.lifeline import set_parent_death_signal

    set_parent_death_signal()  # the children die with the bench, even on SIGKILL


def _stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Server:
    """gunicorn serving ``target`` (the real app by default) with ``workers`` sync workers
    (``threads`` > 1: gthread, as ``fenghuo run``) on a free loopback port."""

    env: dict[str, str]
    log: Path
    target: str = "app:create_app()"
    workers: int = 2
    threads: int = 1
    probe: str = "/readyz"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        ready = Path(tempfile.mkdtemp(prefix="fenghuo-bench-ready-"))
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:gunicorn_ready",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            self.target,
        ]
        out = self.log.open("ab")
        try:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**self.env, "BENCH_READY_DIR": str(ready)},
                stdout=out,
                stderr=out,
                preexec_fn=_preexec,
            )
        finally:
            out.close()
        try:
            self._wait_ready(ready, timeout)
        except BaseException:
            self.stop()
            raise
        finally:
            shutil.rmtree(ready, ignore_errors=True)

    def _wait_ready(self, ready: Path, timeout: float) -> None:
        """Every worker has loaded the app (its file in ``ready``) and the probe path
        answers (any status: /readyz says 503 while no worker process runs)."""
        import http.client

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{_tail(self.log)}")
            if len(list(ready.iterdir())) >= self.workers:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                    conn.request("GET", self.probe)
                    conn.getresponse().read()
                    conn.close()
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(
            f"gunicorn not ready on port {self.port} within {timeout:g} s:\n{_tail(self.log)}"
        )

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def gunicorn(
    db: Scratch,
    *,
    workers: int = 2,
    threads: int = 1,
    target: str = "app:create_app()",
    probe: str = "/readyz",
    env: dict[str, str] | None = None,
    name: str = "web",
) -> Iterator[Server]:
    """Serve ``target`` against ``db`` until the block ends; yields the running Server.
    ``target`` may be a bench's own app (``"api_bench:bare_app()"``: bench/ is on the
    path), with ``probe`` a path it answers."""
    server = Server(
        env={**db.env(), **(env or {})},
        log=db.instance / f"{name}.log",
        target=target,
        workers=workers,
        threads=threads,
        probe=probe,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Worker:
    """The worker as its own process: ``python -m escalation.worker`` (APScheduler waking
    it every ``sweep_seconds``) with ``channels`` (kinds) and, optionally, a
    ``channel_factory`` ``MODULE:FUNCTION(session_factory=, clock=)`` from bench/."""

    env: dict[str, str]
    log: Path
    sweep_seconds: float = 1.0
    channels: str = "inbox"
    channel_factory: str | None = None
    worker_id: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:6]}")
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        command = [
            sys.executable,
            "-m",
            "escalation.worker",
            "--database-url",
            self.env["FENGHUO_DATABASE_URL"],
            "--sweep-seconds",
            f"{self.sweep_seconds:g}",
            "--channels",
            self.channels,
            "--worker-id",
            self.worker_id,
        ]
        if self.channel_factory:
            command += ["--channel-factory", self.channel_factory]
        offset = self.log.stat().st_size if self.log.exists() else 0
        out = self.log.open("ab")
        try:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=out, preexec_fn=_preexec
            )
        finally:
            out.close()
        # The handshake: the worker logs "worker <id> started" just before its first round.
        started = re.compile(rf"worker {re.escape(self.worker_id)} started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited ({self.proc.returncode}):\n{_tail(self.log)}")
            with self.log.open("rb") as handle:
                handle.seek(offset)
                if started.search(handle.read().decode("utf-8", "replace")):
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"worker not started within {timeout:g} s:\n{_tail(self.log)}")

    def stop(self) -> int | None:
        """SIGTERM (the worker finishes its batch and releases its lock); its exit status."""
        if self.proc is None:
            return None
        code = _stop(self.proc)
        self.proc = None
        return code


@contextmanager
def worker(
    db: Scratch,
    *,
    sweep_seconds: float = 1.0,
    channels: str = "inbox",
    channel_factory: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Worker]:
    """Run the worker against ``db`` until the block ends."""
    proc = Worker(
        env={**db.env(), **(env or {})},
        log=db.instance / "worker.log",
        sweep_seconds=sweep_seconds,
        channels=channels,
        channel_factory=channel_factory,
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def run_client(load: Load, *, timeout: float | None = None) -> LoadResult:
    """Drive ``load`` from a separate client process (bench/load_client.py)."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "load_client.py")],
        input=load.to_json().encode("utf-8"),
        capture_output=True,
        timeout=timeout or (load.seconds * 2 + STARTUP_TIMEOUT),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load client failed ({done.returncode}): {done.stderr.decode()}")
    return LoadResult.from_json(done.stdout.decode("utf-8"))


# --- caches ----------------------------------------------------------------------------


def _pg_cluster() -> tuple[str, str] | None:
    """(version, name) of the local cluster on PG_ADMIN_URL's port, from pg_lsclusters."""
    port = re.search(r":(\d+)/", PG_ADMIN_URL)
    try:
        out = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and (port is None or parts[2] == port.group(1)):
            return parts[0], parts[1]
    return None


def _wait_pg(timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while (reason := pg_unavailable()) is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not come back within {timeout:g} s: {reason}")
        time.sleep(0.2)


def drop_os_cache() -> str:
    """``sync`` and drop the kernel's page cache; what was done, as a note."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        return f"the OS page cache could not be dropped ({exc.strerror}): it stayed warm"
    return "OS page cache dropped"


def cold_caches(
    pg: bool,
    *,
    allow_pg_restart: bool = False,
    servers: Sequence[Server | Worker] = (),
) -> str:
    """Make the next request a cold one: stop ``servers`` (their in-process caches go),
    drop the OS page cache, restart the PostgreSQL cluster if ``pg`` and allowed (it is
    shared with other sessions: never by default), start ``servers`` again. Returns a
    note of what was cold and what stayed warm, for the bench's table."""
    for proc in servers:
        proc.stop()
    notes = [drop_os_cache()]
    if pg:
        cluster = _pg_cluster() if allow_pg_restart else None
        if allow_pg_restart and cluster is not None:
            subprocess.run(["pg_ctlcluster", *cluster, "restart"], check=True)
            _wait_pg()
            drop_os_cache()
            notes.append(f"PostgreSQL {cluster[0]}/{cluster[1]} restarted (shared buffers cold)")
        elif allow_pg_restart:
            notes.append("no local PostgreSQL cluster found: its shared buffers stayed warm")
        else:
            notes.append(
                "PostgreSQL's shared buffers stayed warm (the server is shared; "
                "FENGHUO_BENCH_RESTART_PG=1 restarts it)"
            )
    for proc in servers:
        proc.start()
    return "; ".join(notes)


def measure_cold(
    load: Load,
    *,
    pg: bool,
    allow_pg_restart: bool = False,
    servers: Sequence[Server | Worker] = (),
) -> tuple[LoadResult, str]:
    """``load`` right after :func:`cold_caches`, without a warm-up: its first requests
    pay the cold reads. Returns the result (latencies in completion order) and the note."""
    note = cold_caches(pg, allow_pg_restart=allow_pg_restart, servers=servers)
    return run_client(replace(load, warmup=0)), note


def measure_warm(load: Load, *, warmup: int | None = None) -> LoadResult:
    """``load`` after a warm-up of the same requests (``warmup``, default ``load.warmup``
    or, if that is 0, one round of every request per client thread)."""
    rounds = warmup if warmup is not None else load.warmup
    if not rounds:
        rounds = len(load.requests) * max(load.concurrency, 1)
    return run_client(replace(load, warmup=rounds))


# --- the audit chain -------------------------------------------------------------------


class AuditBroken(RuntimeError):
    """``fenghuo audit verify`` failed on a bench's database."""


def verify_audit(db: Scratch | str, *, raise_on_failure: bool = False) -> Row:
    """Run ``fenghuo audit verify`` (the product's command, as its own process) on ``db``;
    the row says whether it passed (goal ``audit_verify``). Prints the verdict loudly;
    raises :class:`AuditBroken` on failure when asked."""
    if isinstance(db, str):
        engine = "postgresql" if db.startswith("postgresql") else "sqlite"
        with tempfile.TemporaryDirectory(prefix="fenghuo-bench-verify-") as folder:
            return verify_audit(
                Scratch(engine, db, Path(folder)), raise_on_failure=raise_on_failure
            )
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify"],
        cwd=ROOT,
        env=db.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    said = (done.stdout + done.stderr).strip().splitlines()
    verdict = said[-1] if said else f"exit {done.returncode}"
    ok = done.returncode == 0
    if not ok:
        print(f"!!! AUDIT VERIFY FAILED on {db.engine}: {verdict}", file=sys.stderr, flush=True)
        if raise_on_failure:
            raise AuditBroken(verdict)
    return Row("audit verify", db.engine, 1.0 if ok else 0.0, goal="audit_verify", note=verdict)


# --- self-check ------------------------------------------------------------------------


def selftest(engine_arg: str, caches: str = "both") -> int:
    """Start gunicorn and the worker on each engine, ask /readyz and the login page from
    the client process, cold-start once, and verify the audit chain."""
    report = Report("harness selftest")
    for engine in engines(engine_arg):
        began = time.monotonic()
        with scratch(engine) as db:
            report.note(f"{engine}: scratch database ready in {time.monotonic() - began:.1f} s")
            if engine == "sqlite":
                from sqlalchemy import create_engine, text

                probe = create_engine(db.url)
                with probe.connect() as conn:
                    mode = conn.execute(text("PRAGMA journal_mode")).scalar()
                probe.dispose()
                report.note(f"sqlite journal_mode = {mode}")
            with worker(db) as w, gunicorn(db) as web:
                load = Load(web.port, [Request("/readyz"), Request("/login")], total=40)
                for cache in cache_modes(caches):
                    t0 = time.monotonic()
                    if cache == "cold":
                        result, note = measure_cold(
                            load, pg=engine == "postgresql", servers=[web, w]
                        )
                        report.note(f"{engine}: cold in {time.monotonic() - t0:.1f} s: {note}")
                    else:
                        result = measure_warm(load)
                    p = percentiles(result.latencies)
                    report.add(
                        Row(
                            "GET /readyz + /login p95",
                            engine,
                            p.p95 * 1e3,
                            "ms",
                            cache=cache,
                            note=f"{result.done} ok, {result.failed} failed {result.first_error}",
                        )
                    )
                ready = json.loads(_get(web.port, "/readyz"))
                report.add(
                    Row(
                        "/readyz ready with the worker up",
                        engine,
                        1.0 if ready.get("ready") else 0.0,
                        note=str(ready["failing"]),
                    )
                )
            report.add(verify_audit(db))
    return report.finish()


def _get(port: int, path: str) -> str:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    body = conn.getresponse().read().decode("utf-8")
    conn.close()
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selftest", action="store_true")
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.selftest:
        return selftest(args.engine, args.caches)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
