"""``fenghuo roster import`` as an operator runs it (CliRunner, real database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from app.cli import main
from incidents.org import Person
from incidents.rosters import RosterOverride

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "roster-sample.xlsx"


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path, org: dict[str, Person]) -> dict[str, str]:
    """The demo organisation (``org``) in the database the command is pointed at."""
    return {
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
    }


def overrides(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.scalar(select(func.count()).select_from(RosterOverride)) or 0
    engine.dispose()
    return found


def test_roster_import_loads_the_sample_month(env: dict[str, str], sqlite_url: str) -> None:
    # The command runs on the wall clock: days already over are skipped, but every row is
    # read and counted whenever the test runs.
    args = ["roster", "import", str(SAMPLE), "--month", "2026-12"]
    result = CliRunner().invoke(main, [*args, "--check"], env=env)
    assert result.exit_code == 0, result.output
    assert "31 days of 2026-12 read" in result.output
    assert overrides(sqlite_url) == 0
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "2026-12: 31 days imported" in result.output


def test_roster_import_names_the_row_and_column(
    env: dict[str, str], sqlite_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("日期,值班员,带班领导\n2026-12-01,张晓明,张三\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["roster", "import", str(broken), "--month", "2026-12"], env=env
    )
    assert result.exit_code == 1
    assert "row 2, column C (带班领导): no person named 张三" in result.output
    assert overrides(sqlite_url) == 0
