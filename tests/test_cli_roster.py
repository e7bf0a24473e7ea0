"""``fenghuo roster import`` as an operator runs it (CliRunner, real database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from incidents.audit import system_actor
from incidents.org import Person
from incidents.org_io import import_org
from incidents.rosters import RosterOverride
from tests.conftest import T0

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "docs" / "roster-sample.xlsx"
DUTY_TEAM = ROOT / "app" / "demo" / "duty_team.yaml"


@pytest.fixture
def env(
    sqlite_url: str, tmp_path: Path, org: dict[str, Person], factory: sessionmaker[Session]
) -> dict[str, str]:
    """The demo organisation (``org``) and its duty team in the database the command is
    pointed at."""
    with factory.begin() as s:
        import_org(s, DUTY_TEAM.read_text(encoding="utf-8"), actor=system_actor("cli"), now=T0)
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
    assert "2026-12: 31 days read; overrides written: duty_officer " in result.output


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
