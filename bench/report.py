"""Figures of a bench: percentiles, repeats, the goals of issue 11 and the one table a
bench prints (and writes as JSON for ``bench/run.py``).

Imported through ``bench/harness.py``; nothing here starts a process or opens a database.
"""

from __future__ import annotations

import json
import math
import operator
import os
import signal
import statistics
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# --- statistics ------------------------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    """Nearest-rank percentiles of a sample (the value at or below which p % fall)."""

    n: int
    p50: float
    p95: float
    p99: float
    max: float


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p ≤ 100) of ``values``; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def percentiles(values: Sequence[float]) -> Percentiles:
    """p50, p95, p99 and the maximum of ``values`` (NaN for an empty sample)."""
    ordered = sorted(values)
    return Percentiles(
        n=len(ordered),
        p50=percentile(ordered, 50),
        p95=percentile(ordered, 95),
        p99=percentile(ordered, 99),
        max=ordered[-1] if ordered else math.nan,
    )


@dataclass(frozen=True)
class Spread:
    """One figure measured ``repeats`` times: the best (min) and the median."""

    min: float
    median: float
    repeats: int


def spread(values: Iterable[float]) -> Spread:
    """Min and median of repeated measurements of one figure."""
    got = [v for v in values if not math.isnan(v)]
    if not got:
        return Spread(math.nan, math.nan, 0)
    return Spread(min(got), statistics.median(got), len(got))


def repeat(measure: Callable[[], T], times: int) -> list[T]:
    """Run ``measure`` ``times`` times (at least once) and return every result."""
    return [measure() for _ in range(max(times, 1))]


def loadavg() -> tuple[float, float, float]:
    """The machine's 1, 5 and 15-minute load averages."""
    return os.getloadavg()


def git_commit() -> str:
    """The checked-out commit, ``+dirty`` when the tree has uncommitted changes."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty=+dirty", "--abbrev=10"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --- the goals of issue 11 -------------------------------------------------------------

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Goal:
    """One line of issue 11's goal column: ``on`` (the row's ``value`` or ``ratio``)
    compared with ``limit`` by ``op``. Every row of a goal must meet it (each engine,
    cold and warm)."""

    id: str
    text: str
    on: str
    op: str
    limit: float
    bench: str

    def met(self, row: Row) -> bool | None:
        figure = row.ratio if self.on == "ratio" else row.value
        if figure is None or math.isnan(figure):
            return None
        return _OPS[self.op](figure, self.limit)


GOALS: dict[str, Goal] = {
    g.id: g
    for g in (
        Goal(
            "lag_p99",
            "2,000 timers due at one instant: due → handed p99 ≤ 2 s",
            "value",
            "<=",
            2.0,
            "lag_bench",
        ),
        Goal(
            "create_ratio",
            "POST /api/v1/incidents ÷ bare INSERT endpoint ≥ 0.3",
            "ratio",
            ">=",
            0.3,
            "api_bench",
        ),
        Goal("create_statements", "SQL statements per create ≤ 15", "value", "<=", 15, "api_bench"),
        Goal(
            "dashboard_p95",
            "dashboard p95 < 200 ms at 1,000,000 incidents, cold included",
            "value",
            "<",
            200.0,
            "ui_bench",
        ),
        Goal(
            "list_p95",
            "incident list first page p95 < 200 ms at 1,000,000",
            "value",
            "<",
            200.0,
            "ui_bench",
        ),
        Goal(
            "list_growth",
            "list first page p95 growth 100,000 → 1,000,000 ≤ 1.2",
            "ratio",
            "<=",
            1.2,
            "ui_bench",
        ),
        Goal(
            "search_growth",
            "search p95 growth 100,000 → 1,000,000 ≤ 1.2",
            "ratio",
            "<=",
            1.2,
            "ui_bench",
        ),
        Goal(
            "telegram_ratio",
            "300 Telegram alerts ÷ the time the limits allow ≤ 1.1",
            "ratio",
            "<=",
            1.1,
            "telegram_burst",
        ),
        Goal("telegram_429", "Telegram 429 answers = 0", "value", "==", 0, "telegram_burst"),
        Goal(
            "audit_verify", "audit verify passes after the benches", "value", "==", 1, "every bench"
        ),
    )
}


# --- rows and the table ----------------------------------------------------------------


@dataclass
class Row:
    """One figure of a bench.

    ``value`` is the median over the repeats (``best`` their minimum), in ``unit``;
    ``yardstick`` the same run's reference figure (bare INSERT rate, the time Telegram's
    limits allow, the sweep interval) and ``ratio`` value ÷ yardstick unless given;
    ``goal`` an id of :data:`GOALS` (empty: a figure without a goal); ``cache`` "cold",
    "warm" or "" where caches do not apply; ``size`` what it was measured at.
    """

    measure: str
    engine: str
    value: float
    unit: str = ""
    best: float | None = None
    repeats: int = 1
    yardstick: float | None = None
    ratio: float | None = None
    goal: str = ""
    cache: str = ""
    size: str = ""
    note: str = ""
    met: bool | None = None

    def __post_init__(self) -> None:
        if self.ratio is None and self.yardstick:
            self.ratio = self.value / self.yardstick
        if self.goal and self.met is None:
            goal = GOALS.get(self.goal)
            self.met = goal.met(self) if goal else None

    @classmethod
    def from_spread(cls, measure: str, engine: str, figures: Spread, **kw: Any) -> Row:
        return cls(measure, engine, figures.median, best=figures.min, repeats=figures.repeats, **kw)


def _num(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    if math.isnan(x):
        return "n/a"
    if x == int(x) and abs(x) >= 10:
        text = f"{int(x):,}"
    elif abs(x) >= 100:
        text = f"{x:,.0f}"
    elif abs(x) >= 1:
        text = f"{x:.2f}"
    else:
        text = f"{x:.3f}"
    return f"{text} {unit}".rstrip()


def _met(m: bool | None, goal: str) -> str:
    if not goal:
        return ""
    return {True: "met", False: "NOT MET", None: "not measured"}[m]


class Stopped(Exception):
    """The bench was told to stop (SIGTERM) before it finished."""


def _stopped(signum: int, _frame: Any) -> None:
    raise Stopped(f"signal {signum}: stopped before the end")


@dataclass
class Report:
    """What one bench measured: its rows, notes and the machine's state.

    Create it when the bench starts (it reads the load average then), ``add`` rows,
    then ``finish`` prints the one table and writes the JSON for ``bench/run.py``. Used
    as a context manager (``with Report(...) as report:``), an exception part-way still
    prints and writes the rows measured so far, marked failed, then propagates.
    """

    bench: str
    json_path: Path | None = None
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_start: tuple[float, float, float] = field(default_factory=loadavg)
    load_end: tuple[float, float, float] | None = None
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    commit: str = field(default_factory=git_commit)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    failed: bool = False
    _sigterm: Any = field(default=None, repr=False, compare=False)

    def __enter__(self) -> Report:
        # bench/run.py stops a bench past its time cap with SIGTERM: turn it into an
        # exception, so that what was measured is still written (main thread only);
        # the handler before it comes back on exit.
        if threading.current_thread() is threading.main_thread():
            self._sigterm = signal.signal(signal.SIGTERM, _stopped)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: Any
    ) -> None:
        """A bench that fails part-way still prints and writes what it measured."""
        if self._sigterm is not None:
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None
        if exc is not None:
            self.failed = True
            self.note(f"failed: {kind.__name__ if kind else ''}: {exc}")
            self.finish()

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        print(f"  note: {text}", flush=True)
        self.notes.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "rows": [asdict(r) for r in self.rows],
            "notes": self.notes,
            "load_start": self.load_start,
            "load_end": self.load_end,
            "cores": self.cores,
            "commit": self.commit,
            "started_at": self.started_at,
            "failed": self.failed,
        }

    def finish(self) -> int:
        """Print the table, write the JSON; 1 if a row failed its check (audit), else 0."""
        self.load_end = loadavg()
        self.failed |= any(r.goal == "audit_verify" and r.met is False for r in self.rows)
        print(
            table(
                self.bench,
                self.rows,
                self.load_start,
                self.load_end,
                self.cores,
                self.commit,
                self.notes,
            ),
            flush=True,
        )
        if self.json_path is not None:
            self.json_path.write_text(
                json.dumps(self.as_dict(), ensure_ascii=False, indent=1), encoding="utf-8"
            )
        return 1 if self.failed else 0


HEADERS = (
    "measure",
    "engine",
    "cache",
    "figure (median)",
    "min",
    "yardstick",
    "ratio",
    "goal",
    "met?",
)


def _cells(row: Row) -> tuple[str, ...]:
    goal = GOALS.get(row.goal)
    measure = row.measure + (f" [{row.size}]" if row.size else "")
    return (
        measure,
        row.engine,
        row.cache,
        _num(row.value, row.unit) + (f" ×{row.repeats}" if row.repeats > 1 else ""),
        _num(row.best, row.unit) if row.best is not None else "",
        _num(row.yardstick),
        _num(row.ratio),
        f"{goal.on} {goal.op} {goal.limit:g}" if goal else "",
        _met(row.met, row.goal),
    )


def format_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces, with a rule under the headers."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def table(
    bench: str,
    rows: Sequence[Row],
    load_start: Sequence[float],
    load_end: Sequence[float] | None,
    cores: int,
    commit: str,
    notes: Sequence[str] = (),
) -> str:
    """The one table of a bench, with the load average at start and end, the cores and
    the commit."""

    def la(x: Sequence[float] | None) -> str:
        return " ".join(f"{v:.2f}" for v in x) if x else "?"

    head = (
        f"== {bench} — commit {commit}, {cores} cores, load average "
        f"{la(load_start)} at start, {la(load_end)} at end"
    )
    lines = [head, *format_rows(HEADERS, [_cells(r) for r in rows])]
    lines += [f"  * {n}" for n in notes]
    return "\n".join(lines)
