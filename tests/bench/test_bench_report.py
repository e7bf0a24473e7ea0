"""The benches' figures are computed as documented: nearest-rank percentiles, min and
median of repeats, ratios against the yardstick, goals judged, one table per bench."""

from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))  # after the project

from load_client import Load, LoadResult, Request
from report import GOALS, Report, Row, percentile, percentiles, spread, table


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    p = percentiles(values)
    assert (p.n, p.p50, p.p95, p.p99, p.max) == (100, 50.0, 95.0, 99.0, 100.0)
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.0


def test_percentiles_of_nothing_are_not_a_number() -> None:
    p = percentiles([])
    assert p.n == 0 and math.isnan(p.p95) and math.isnan(p.max)


def test_spread_is_min_and_median_of_the_repeats_that_measured() -> None:
    s = spread([3.0, 1.0, math.nan, 2.0, 10.0])
    assert (s.min, s.median, s.repeats) == (1.0, 2.5, 4)


def test_a_row_divides_by_its_yardstick_and_judges_its_goal() -> None:
    api = Row("create rate", "sqlite", 60.0, "req/s", yardstick=300.0, goal="create_ratio")
    assert api.ratio == pytest.approx(0.2) and api.met is False
    lag = Row("lag p99", "postgresql", 1.5, "s", yardstick=1.0, goal="lag_p99")
    assert lag.ratio == pytest.approx(1.5) and lag.met is True
    unmeasured = Row("lag p99", "sqlite", math.nan, "s", goal="lag_p99")
    assert unmeasured.met is None
    assert Row("no goal", "sqlite", 1.0).met is None


def test_every_goal_names_its_bench_and_figure() -> None:
    for goal in GOALS.values():
        assert goal.on in ("value", "ratio") and goal.bench and goal.text


def test_the_table_says_the_load_cores_commit_and_verdicts() -> None:
    rows = [
        Row("lag p99", "sqlite", 2.5, "s", best=2.1, repeats=3, goal="lag_p99", cache="warm"),
        Row("audit verify", "sqlite", 1.0, goal="audit_verify"),
    ]
    text = table("lag_bench", rows, (1.0, 2.0, 3.0), (4.0, 5.0, 6.0), 2, "abc123")
    assert "load average 1.00 2.00 3.00 at start, 4.00 5.00 6.00 at end" in text
    assert "2 cores" in text and "abc123" in text
    lines = text.splitlines()
    assert "NOT MET" in lines[3] and "2.50 s ×3" in lines[3] and "2.10 s" in lines[3]
    assert lines[4].rstrip().endswith("met")


def test_a_report_writes_its_rows_as_json_and_fails_on_a_broken_chain(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    report = Report("b", json_path=out, commit="c")
    report.add(Row("audit verify", "postgresql", 0.0, goal="audit_verify"))
    assert report.finish() == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["bench"] == "b" and data["failed"] is True
    assert data["rows"][0]["met"] is False and len(data["load_end"]) == 3


def test_the_client_load_and_result_cross_the_process_boundary_as_json() -> None:
    load = Load(8000, [Request("/x/{n}", "POST", '{"n": {n}}', {"A": "b"})], total=5)
    assert Load.from_json(load.to_json()) == load
    result = LoadResult([0.1, 0.2], 1, 2.0, {"200": 2, "500": 1}, "500 boom")
    back = LoadResult.from_json(result.to_json())
    assert back == result and back.done == 2 and back.rate == 1.0


def test_the_summary_names_each_goal_met_not_met_or_not_measured() -> None:
    from dataclasses import asdict

    from run import Outcome, summary

    rows = [
        asdict(Row("lag p99", "sqlite", 1.2, "s", goal="lag_p99")),
        asdict(Row("lag p99", "postgresql", 3.0, "s", goal="lag_p99")),
        asdict(Row("429s", "sqlite", 0, goal="telegram_429")),
    ]
    lines, measured, met = summary([Outcome("x.py", 0, 1.0, {"rows": rows})])
    verdict = {line.split("  ")[0]: line for line in lines}
    assert verdict[GOALS["lag_p99"].text].endswith("NOT MET")
    assert "sqlite 1.2 s; postgresql 3 s" in verdict[GOALS["lag_p99"].text]
    assert verdict[GOALS["telegram_429"].text].endswith("met")
    assert verdict[GOALS["list_p95"].text].endswith("not measured")
    assert not measured and not met


def test_a_bench_that_fails_part_way_still_writes_its_rows(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    with pytest.raises(RuntimeError), Report("b", json_path=out, commit="c") as report:
        report.add(Row("lag p99", "sqlite", 1.0, "s", goal="lag_p99"))
        raise RuntimeError("postgresql went away")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["failed"] is True and data["rows"][0]["met"] is True
    assert "postgresql went away" in data["notes"][0]


def test_a_report_gives_back_the_sigterm_handler_it_found(tmp_path: Path) -> None:
    # The test process's own handler (pytest-xdist's workers are stopped by SIGTERM).
    before = signal.getsignal(signal.SIGTERM)
    with Report("b", json_path=tmp_path / "rows.json", commit="c"):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_goal_of_a_bench_stopped_part_way_is_partial() -> None:
    from dataclasses import asdict

    from run import Outcome, summary

    rows = [asdict(Row("lag p99", "sqlite", 1.2, "s", goal="lag_p99"))]
    stopped = Outcome("lag_bench.py", None, 70.0, {"rows": rows}, "stopped after its cap")
    lines, measured, _met = summary([stopped])
    assert any(line.endswith("met (partial)") for line in lines) and not measured


def test_the_summary_shows_the_worst_figure_per_engine_and_cache() -> None:
    from dataclasses import asdict

    from run import _figures

    rows = [
        asdict(Row("dashboard", "sqlite", 120.0, "ms", goal="dashboard_p95", cache="warm")),
        asdict(Row("dashboard JSON", "sqlite", 250.0, "ms", goal="dashboard_p95", cache="warm")),
        asdict(Row("create", "sqlite", 1.0, yardstick=4.0, goal="create_ratio", cache="warm")),
        asdict(Row("create", "sqlite", 1.0, yardstick=2.0, goal="create_ratio", cache="warm")),
    ]
    assert _figures(GOALS["dashboard_p95"], rows[:2]) == (
        "sqlite/warm 250 ms (worst of 2: dashboard JSON)"
    )
    assert _figures(GOALS["create_ratio"], rows[2:]).startswith("sqlite/warm 0.25 (worst of 2")
