"""The ``fenghuo`` command, run as an operator would (CliRunner, real database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from app.cli import main


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_DEMO_PASSWORD": "demo-pass-1",
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_demo_seed_prints_how_to_log_in(env: dict[str, str]) -> None:
    code, out = run(env, "demo", "seed")
    assert code == 0, out
    assert "demo-pass-1" in out
    assert "duty" in out


def test_token_create_prints_the_token_as_its_last_line(env: dict[str, str]) -> None:
    run(env, "demo", "seed")
    code, out = run(env, "token", "create", "--person", "duty", "--name", "siem")
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("fh_")


def test_token_create_names_an_unknown_person(env: dict[str, str]) -> None:
    code, out = run(env, "token", "create", "--person", "nobody", "--name", "x")
    assert code == 1
    assert "nobody" in out


def test_audit_verify_exits_0_with_the_count_then_1_naming_the_broken_event(
    env: dict[str, str], sqlite_url: str
) -> None:
    run(env, "demo", "seed")
    code, out = run(env, "audit", "verify")
    assert code == 0
    assert "intact" in out
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("UPDATE audit_event SET actor_login = 'someone' WHERE seq = 7"))
    engine.dispose()
    code, out = run(env, "audit", "verify")
    assert code == 1
    assert "event 7" in out


def test_org_import_is_idempotent(env: dict[str, str]) -> None:
    from tests.conftest import DEMO_ORG

    code, first = run(env, "org", "import", str(DEMO_ORG))
    assert code == 0 and "created" in first
    code, second = run(env, "org", "import", str(DEMO_ORG))
    assert code == 0
    assert second.strip() == "no change"


def test_org_import_names_the_bad_field(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "org.yaml"
    bad.write_text(
        "people:\n  - {login: x, name: X, positions: [{role: pope, from: "
        "'2024-01-01T00:00:00+08:00'}]}\n",
        encoding="utf-8",
    )
    code, out = run(env, "org", "import", str(bad))
    assert code == 1
    assert "people[0].positions[0].role" in out


def test_policy_check_names_the_key_at_fault(env: dict[str, str], tmp_path: Path) -> None:
    from config.policy import DEFAULT_POLICY_PATH

    good = Path(DEFAULT_POLICY_PATH).read_text(encoding="utf-8")
    bad = tmp_path / "policy.toml"
    bad.write_text(
        good.replace('reporter_category = "local"', 'reporter_category = "mars"'), encoding="utf-8"
    )
    assert good != bad.read_text(encoding="utf-8")
    code, out = run(env, "policy", "check", str(DEFAULT_POLICY_PATH))
    assert code == 0, out
    code, out = run(env, "policy", "check", str(bad))
    assert code == 1
    assert "reporter_category" in out


def test_a_bad_setting_stops_the_command_naming_the_variable(env: dict[str, str]) -> None:
    code, out = run({**env, "FENGHUO_SWEEP_SECONDS": "soon"}, "audit", "verify")
    assert code == 1
    assert "FENGHUO_SWEEP_SECONDS" in out
