"""``fenghuo audit checkpoint`` and ``fenghuo audit verify`` as cron runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from app.cli import main


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_verify_checks_the_chain_against_the_checkpoint_file(
    sqlite_url: str, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "elsewhere" / "checkpoints.jsonl"
    env = {
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_AUDIT_CHECKPOINTS": str(checkpoints),
        "FENGHUO_DEMO_PASSWORD": "demo-pass-1",
    }
    _run(env, "demo", "seed")
    code, out = _run(env, "audit", "verify")
    assert code == 0 and "no checkpoint yet" in out
    code, out = _run(env, "audit", "checkpoint")
    assert code == 0, out
    assert checkpoints.read_text().count("\n") == 1
    code, out = _run(env, "audit", "verify")
    assert code == 0 and "anchored to the checkpoint" in out
    last = int(out.split("intact: ")[1].split(" ")[0])
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        for name in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")):
            conn.execute(text(f'DROP TRIGGER "{name[0]}"'))
        conn.execute(text(f"DELETE FROM audit_event WHERE seq > {last - 2}"))
        conn.execute(text("DELETE FROM audit_head"))
    engine.dispose()
    code, out = _run(env, "audit", "verify")
    assert code == 1
    assert f"broken at event {last - 1}" in out
    code, out = _run(env, "audit", "checkpoint")
    assert code == 1 and "no checkpoint written" in out
    assert checkpoints.read_text().count("\n") == 1


def test_a_forged_checkpoint_line_fails_verification(sqlite_url: str, tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpoints.write_text('{"seq":1,"hash":"00","at":"2026","key":"k","sig":"s"}\n')
    env = {
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_AUDIT_CHECKPOINTS": str(checkpoints),
    }
    code, out = _run(env, "audit", "verify")
    assert code == 1
    assert "line 1" in out and "unknown audit key" in out


def test_production_requires_the_audit_key(tmp_path: Path) -> None:
    from config.settings import ConfigError, load_settings

    env = {
        "FENGHUO_ENV": "production",
        "FENGHUO_SECRET_KEY": "s" * 40,
        "FENGHUO_PUBLIC_URL": "https://fenghuo.example.gov.cn",
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert refused.value.variable == "FENGHUO_AUDIT_KEY"
    assert not (tmp_path / "instance" / "audit_key").exists()


def test_the_instance_key_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    from config.audit_key import load_keyring

    first = load_keyring({}, instance=tmp_path)
    key_file = tmp_path / "audit_key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert load_keyring({}, instance=tmp_path).current.key_id == first.current.key_id
    key_file.chmod(0o644)
    with pytest.raises(ValueError, match="readable by others"):
        load_keyring({}, instance=tmp_path)
