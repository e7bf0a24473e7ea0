"""Run the benches in order and print every goal of issue 11, met or not.

    .venv/bin/python bench/run.py --short   # make bench: small sizes, warm caches, < 5 min
    .venv/bin/python bench/run.py --full    # make bench-full: 1,000,000 incidents, 2,000
                                            # timers at one instant, cold and warm

Each bench runs as its own process with the common flags of ``bench/harness.py``
(``--engine both --json PATH --repeats R --caches ...``) and its size flags from
:data:`PLAN`; it prints its own table, and this driver reads the rows it wrote and
prints the summary: one line per goal with each engine's (and cache's) figure. A bench
that fails or runs past its time cap is reported and its goals marked "not measured";
the exit status is then 1 (also when an audit chain is broken). Goals that were
measured and not met are shown as NOT MET; ``--strict`` makes them fail the run too.

``FENGHUO_BENCH_RESTART_PG=1`` lets ``--full`` restart the PostgreSQL cluster for the
cold figures; without it PostgreSQL's shared buffers stay warm (it is shared), and the
benches say so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from report import GOALS, Goal, format_rows, git_commit, loadavg  # noqa: E402


@dataclass(frozen=True)
class Step:
    """One bench and its flags for each mode; ``harness=False`` for a bench that only
    prints (no ``--json``, no common flags); ``cap`` seconds before it is stopped."""

    script: str
    short: tuple[str, ...] | None
    full: tuple[str, ...]
    short_cap: float = 90
    full_cap: float = 3600
    harness: bool = True


# Sizes for --short are chosen so that the whole run stays under 5 minutes on a 2-core
# machine with both engines (the caps add up to 280 s; the benches take about 150 s at
# load average 3); --full is the size of every goal of issue 11.
PLAN: tuple[Step, ...] = (
    Step("lag_bench.py", ("--timers", "1000"), ("--timers", "2000"), short_cap=55),
    Step(
        "api_bench.py",
        ("--requests", "300", "--seconds", "4", "--warmup", "10"),
        ("--requests", "3000", "--seconds", "20"),
        short_cap=60,
    ),
    Step(
        "ui_bench.py",
        ("--incidents", "10000", "--small-incidents", "2000", "--rounds", "8"),
        ("--incidents", "1000000", "--small-incidents", "100000", "--rounds", "40"),
        short_cap=90,
        full_cap=7200,
    ),
    Step(
        "telegram_burst.py",
        ("--chats", "60", "--per-chat", "2"),
        ("--chats", "100", "--per-chat", "3"),
        short_cap=45,
    ),
    Step(
        "sweep_bench.py",
        ("--small", "1000", "--large", "20000", "--runs", "50"),
        ("--small", "1000", "--large", "1000000", "--runs", "300"),
        short_cap=30,
        harness=False,
    ),
    Step(
        "dashboard_queries.py",
        None,
        ("--incidents", "100000", "--rounds", "5", "--engine", "both"),
        harness=False,
    ),
)


@dataclass
class Outcome:
    script: str
    code: int | None
    seconds: float
    data: dict[str, Any] | None
    problem: str = ""


def _run(step: Step, mode: str, folder: Path, allow_pg_restart: bool) -> Outcome:
    flags = step.short if mode == "short" else step.full
    assert flags is not None
    out = folder / (step.script.removesuffix(".py") + ".json")
    command = [sys.executable, str(BENCH / step.script), *flags]
    if step.harness:
        common = ["--engine", "both", "--json", str(out)]
        common += ["--repeats", "1", "--caches", "warm"] if mode == "short" else ["--repeats", "3"]
        if mode == "full" and allow_pg_restart:
            common.append("--allow-pg-restart")
        command += common
    cap = step.short_cap if mode == "short" else step.full_cap
    print(f"\n##### {step.script} {' '.join(command[2:])}  (cap {cap:g} s)", flush=True)
    began = time.monotonic()
    # Its own process group, so that a bench past its cap goes with everything it started.
    proc = subprocess.Popen(command, cwd=BENCH.parent, start_new_session=True)
    try:
        code: int | None = proc.wait(timeout=cap)
        problem = "" if code == 0 else f"exited with status {code}"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        code, problem = None, f"stopped after its cap of {cap:g} s"
    seconds = time.monotonic() - began
    data = None
    if out.exists():
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as exc:
            problem = problem or f"unreadable JSON: {exc}"
    elif step.harness and not problem:
        problem = "wrote no JSON (does it take --json?)"
    return Outcome(step.script, code, seconds, data, problem)


def _figure(goal: Goal, row: dict[str, Any]) -> float | None:
    x = row["ratio"] if goal.on == "ratio" else row["value"]
    return None if x is None or math.isnan(x) else float(x)


def _figures(goal: Goal, rows: list[dict[str, Any]]) -> str:
    """Per engine and cache, the figure farthest from the goal (worst of several rows:
    pages, viewers, repeats of one goal), with the size it was measured at."""
    upward = goal.op in (">=", ">")  # the goal wants a large figure: the least is worst
    parts = []
    for where in dict.fromkeys((r["engine"], r["cache"]) for r in rows):
        group = [r for r in rows if (r["engine"], r["cache"]) == where]
        known = [r for r in group if _figure(goal, r) is not None]
        label = "/".join(p for p in where if p)
        if not known:
            parts.append(f"{label} n/a")
            continue
        worst = (min if upward else max)(known, key=lambda r: _figure(goal, r) or 0.0)
        x = _figure(goal, worst)
        unit = "" if goal.on == "ratio" else f" {worst['unit']}".rstrip()
        more = f" (worst of {len(group)}: {worst['measure']})" if len(group) > 1 else ""
        parts.append(f"{label} {x:.3g}{unit}{more}")
    sizes = {r["size"] for r in rows if r.get("size")}
    return "; ".join(parts) + (f" @{', '.join(sorted(sizes))}" if sizes else "")


def summary(outcomes: list[Outcome]) -> tuple[list[str], bool, bool]:
    """The summary lines; whether every goal was measured; whether every measured one
    was met."""
    rows = [r for o in outcomes if o.data for r in o.data.get("rows", []) if r.get("goal")]
    lines: list[list[str]] = []
    all_measured = all_met = True
    for goal in GOALS.values():
        mine = [r for r in rows if r["goal"] == goal.id]
        verdicts = [r.get("met") for r in mine]
        if not mine or None in verdicts:
            verdict = "not measured" if not mine else "partly measured"
            all_measured = False
        elif all(verdicts):
            verdict = "met"
        else:
            verdict = "NOT MET"
            all_met = False
        cut = [o.script for o in outcomes if o.problem and o.script.startswith(goal.bench)]
        if mine and cut:  # the bench stopped part-way: some engine or cache is missing
            verdict += " (partial)"
            all_measured = False
        figures = _figures(goal, mine) if mine else "-"
        lines.append([goal.text, goal.bench, figures, verdict])
    lines.append(
        ["make test ≤ 8 min on 2 cores", "make test", "not a bench: time `make test`", "-"]
    )
    table = format_rows(("goal (issue 11)", "bench", "figures", "verdict"), lines)
    return table, all_measured, all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--short", action="store_const", dest="mode", const="short")
    mode.add_argument("--full", action="store_const", dest="mode", const="full")
    parser.add_argument("--only", nargs="*", default=None, help="run only these benches")
    parser.add_argument("--json", type=Path, default=None, help="write every bench's rows here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    args = parser.parse_args(argv)
    allow_pg_restart = os.environ.get("FENGHUO_BENCH_RESTART_PG") == "1"
    load_start = loadavg()
    began = time.monotonic()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="fenghuo-bench-run-") as tmp:
        for step in PLAN:
            flags = step.short if args.mode == "short" else step.full
            wanted = args.only is None or step.script.removesuffix(".py") in args.only
            if flags is None or not wanted:
                continue
            outcomes.append(_run(step, args.mode, Path(tmp), allow_pg_restart))
    load_end = loadavg()
    lines, measured, met = summary(outcomes)
    la = " ".join(f"{x:.2f}" for x in load_start), " ".join(f"{x:.2f}" for x in load_end)
    print(
        f"\n===== issue 11 goals, bench/run.py --{args.mode}: commit {git_commit()}, "
        f"{os.cpu_count()} cores, load average {la[0]} at start, {la[1]} at end, "
        f"{time.monotonic() - began:.0f} s in all"
    )
    if args.mode == "short":
        print("  (--short: sizes below the goals' own; the verdicts are for those sizes)")
    print("\n".join(lines))
    failed = [o for o in outcomes if o.problem]
    for o in outcomes:
        state = o.problem or "ok"
        print(f"  {o.script:<22} {o.seconds:6.0f} s  {state}")
    if args.json is not None:
        args.json.write_text(
            json.dumps([o.__dict__ for o in outcomes], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    broken = any(o.data and o.data.get("failed") for o in outcomes)
    if failed or broken or not measured:
        return 1
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
