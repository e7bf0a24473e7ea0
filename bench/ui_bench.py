"""The dashboard and the incident list over HTTP, at two sizes, cold and warm, both engines.

For each engine and each size (``--small-incidents``, default 100,000, and
``--incidents``, default 1,000,000): a scratch database populated by
``bench/populate.py`` around the wall clock's now, gunicorn serving the real
application (two sync workers), and a separate client process (``bench/load_client.py``)
asking, as the duty officer (who sees everything) and as a department head (whose
visibility filter is the more expensive one):

- the dashboard page and its live JSON document (``DASHBOARD``: goal ``dashboard_p95``
  at the large size);
- the incident list's pages (:func:`list_pages`: the first page, goal ``list_p95`` at the
  large size and ``list_growth`` from the small to the large; a search, ``search_growth``);
- the yardstick: the same server's bare ``/healthz``, in the same run; each page's p95
  is also given as a ratio to it.

Cold: fresh gunicorn processes after the OS page cache was dropped (and PostgreSQL
restarted only with ``--allow-pg-restart``: the server is shared), with no warm-up, so
the first requests pay the cold reads; warm: after one round of warm-up. Each figure is
measured ``--repeats`` times (``--rounds`` requests each, two client connections): the
row gives the median p95 and the best, the note p50 and max; the load average is in the
table's head and in a note per size. ``audit verify`` runs at the end of each engine.

    .venv/bin/python bench/ui_bench.py [--incidents 1000000] [--small-incidents 100000]
        [--rounds 40] [--engine both] [--caches both] [--repeats 3] [--json out.json]
    .venv/bin/python bench/ui_bench.py --populated URL  # kept by populate.py --keep, as is
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import harness  # noqa: E402
from harness import Load, Report, Request, Row, Scratch  # noqa: E402
from populate import PASSWORD, populate  # noqa: E402

VIEWERS = {"duty officer": "duty", "department head": "trafhead"}
YARDSTICK = "/healthz"
CONCURRENCY = 2
# Flask-Login's session protection ties a session to the client's User-Agent: the login
# and the load client send the same one.
AGENT = "fenghuo-ui-bench"
_COLD_NOTES: set[str] = set()


@dataclass(frozen=True)
class Page:
    """A page measured: its path, and the goals of issue 11 it counts for."""

    path: str
    goal: str = ""  # at the large size
    growth_goal: str = ""  # p95 at the large size ÷ p95 at the small


DASHBOARD: dict[str, Page] = {
    "dashboard": Page("/", goal="dashboard_p95"),
    "dashboard live JSON": Page("/live/dashboard.json", goal="dashboard_p95"),
}


def list_pages() -> dict[str, Page]:
    """The incident list's pages (the list's own measures go here)."""
    return {
        "list: first page": Page("/incidents", goal="list_p95", growth_goal="list_growth"),
        "list: search 勒索": Page("/incidents?q=%E5%8B%92%E7%B4%A2", growth_goal="search_growth"),
    }


def pages() -> dict[str, Page]:
    return {**DASHBOARD, **list_pages()}


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(port: int, user: str) -> str:
    """A session cookie of ``user`` (as a Cookie header's value), by the login form."""
    import httpx

    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=60, headers={"User-Agent": AGENT}
    ) as client:
        found = _TOKEN.search(client.get("/login").text)
        assert found is not None, "no csrf token on the login page"
        reply = client.post(
            "/login",
            data={"login": user, "password": PASSWORD, "csrf_token": found.group(1)},
        )
        assert reply.status_code in (302, 303), (user, reply.status_code)
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


@dataclass
class Figures:
    """One page's repeats: p50, p95 and max of each, in milliseconds."""

    p50: list[float]
    p95: list[float]
    top: list[float]

    def add(self, latencies: list[float]) -> None:
        got = harness.percentiles(latencies)
        self.p50.append(got.p50 * 1e3)
        self.p95.append(got.p95 * 1e3)
        self.top.append(max(latencies) * 1e3)

    def note(self) -> str:
        return (
            f"p50 {statistics.median(self.p50):.0f} ms, max {max(self.top):.0f} ms "
            f"over {len(self.p95)} repeats"
        )


def _measure(
    load: Load, cache: str, engine: str, web: harness.Server, args: argparse.Namespace
) -> list[float]:
    if cache == "cold":
        got, note = harness.measure_cold(
            load,
            pg=engine == "postgresql",
            allow_pg_restart=args.allow_pg_restart,
            servers=[web],
        )
        _COLD_NOTES.add(f"{engine} cold: {note}")
    else:
        got = harness.measure_warm(load)
    if got.failed:
        raise RuntimeError(f"{got.failed} answers not 200: {got.first_error}")
    return got.latencies


def measure_size(
    report: Report, db: Scratch, size: int, args: argparse.Namespace
) -> dict[tuple[str, str, str], float]:
    """Every page at one size on one engine: rows added; (page, viewer, cache) -> p95."""
    found: dict[tuple[str, str, str], float] = {}
    with harness.gunicorn(db, workers=2) as web:
        cookies = {viewer: login(web.port, user) for viewer, user in VIEWERS.items()}
        report.note(
            f"{db.engine} {size:,}: load average "
            + " ".join(f"{x:.2f}" for x in harness.loadavg())
            + " before measuring"
        )
        for cache in harness.cache_modes(args.caches):
            yard = Figures([], [], [])
            for _ in range(args.repeats):
                load = Load(
                    web.port, [Request(YARDSTICK)], total=args.rounds, concurrency=CONCURRENCY
                )
                yard.add(_measure(load, cache, db.engine, web, args))
            yard_p95 = statistics.median(yard.p95)
            report.add(
                Row.from_spread(
                    f"{YARDSTICK} p95 (yardstick)",
                    db.engine,
                    harness.spread(yard.p95),
                    unit="ms",
                    cache=cache,
                    size=f"{size:,}",
                    note=yard.note(),
                )
            )
            for name, page in pages().items():
                for viewer, cookie in cookies.items():
                    figures = Figures([], [], [])
                    for _ in range(args.repeats):
                        load = Load(
                            web.port,
                            [Request(page.path, headers={"Cookie": cookie, "User-Agent": AGENT})],
                            total=args.rounds,
                            concurrency=CONCURRENCY,
                        )
                        figures.add(_measure(load, cache, db.engine, web, args))
                    large = size == args.incidents
                    row = report.add(
                        Row.from_spread(
                            f"{name} p95 ({viewer})",
                            db.engine,
                            harness.spread(figures.p95),
                            unit="ms",
                            cache=cache,
                            size=f"{size:,}",
                            goal=page.goal if large else "",
                            note=f"{figures.note()}; "
                            f"÷ {YARDSTICK} {statistics.median(figures.p95) / yard_p95:.1f}",
                        )
                    )
                    found[(name, viewer, cache)] = row.value
    return found


@contextmanager
def _database(engine: str, size: int, args: argparse.Namespace) -> Iterator[Scratch]:
    """A populated database: a scratch one, or ``--populated`` as it is."""
    for url in args.populated:
        if url.startswith("postgresql") == (engine == "postgresql"):
            with tempfile.TemporaryDirectory(prefix="fenghuo-ui-bench-") as folder:
                yield Scratch(engine, url, Path(folder))
            return
    with harness.scratch(engine, demo=False) as db:
        started = time.perf_counter()
        done = populate(db.url, size, seed=1, now=datetime.now(UTC))
        print(
            f"{engine}: {size:,} incidents ({done.open:,} open) populated in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        yield db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_args(parser)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--small-incidents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40, help="requests per measurement")
    parser.add_argument(
        "--populated",
        action="append",
        default=[],
        help="measure this populated database (bench/populate.py --keep) at --incidents",
    )
    args = parser.parse_args(argv)
    with Report("ui_bench", json_path=args.json) as report:
        for engine in harness.engines(args.engine):
            sizes = [args.incidents] if args.populated else [args.small_incidents, args.incidents]
            by_size: dict[int, dict[tuple[str, str, str], float]] = {}
            for size in sizes:
                with _database(engine, size, args) as db:
                    by_size[size] = measure_size(report, db, size, args)
                    report.add(harness.verify_audit(db))
            if len(by_size) == 2:
                small, large = by_size[args.small_incidents], by_size[args.incidents]
                for (name, viewer, cache), p95 in large.items():
                    goal = pages()[name].growth_goal
                    if goal and (name, viewer, cache) in small:
                        report.add(
                            Row(
                                f"{name} p95 growth ({viewer})",
                                engine,
                                p95,
                                unit="ms",
                                yardstick=small[(name, viewer, cache)],
                                cache=cache,
                                size=f"{args.small_incidents:,} → {args.incidents:,}",
                                goal=goal,
                            )
                        )
        for note in sorted(_COLD_NOTES):
            report.note(note)
        return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
