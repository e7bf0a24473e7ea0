"""Migrating says which migrations ran, and nothing of Alembic's start-up chatter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from app.migrate import upgrade
upgrade(sys.argv[1])
print("root", logging.getLogger().getEffectiveLevel())
"""


def _migrate(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_a_fresh_upgrade_logs_the_migrations_but_not_alembics_setup(tmp_path: Path) -> None:
    run = _migrate(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert "Running upgrade  -> 0001_record" in run.stderr
    for noise in ("setup plugin", "Context impl", "Will assume"):
        assert noise not in run.stderr
    # Only Alembic's loggers were quietened: the root logger still logs INFO.
    assert run.stdout.strip() == "root 20"


def test_an_upgrade_with_nothing_to_do_is_silent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    _migrate(url)
    assert _migrate(url).stderr == ""
