"""``fenghuo run`` with only ``FENGHUO_PORT`` set listens, prints and links that port, and
its start-up output carries none of Alembic's set-up lines.

A real ``fenghuo run`` on a temporary SQLite database and a free loopback port; no public
URL is given, so the default must follow the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.health.test_run_survives import (
    ROOT,
    alive,
    descendants,
    free_port,
    get,
    log_size,
    wait_for,
)
from tests.waiting import STALL_SECONDS

pytestmark = pytest.mark.slow


def test_the_printed_addresses_follow_fenghuo_port(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FENGHUO_PUBLIC_URL", "FENGHUO_HOST", "PROMETHEUS_MULTIPROC_DIR")
    }
    env |= {
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_PORT": str(port),
        "FENGHUO_DEMO_PASSWORD": "demo-pass-for-tests",
    }
    env.pop("FENGHUO_TELEGRAM_TOKEN", None)
    log = tmp_path / "run.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: get(base + "/healthz")[0] == 200, "the web face", progress=lambda: log_size(log)
        )
        wait_for(lambda: "Fenghuo on" in log.read_text(), "the address line")
        printed = log.read_text()
        assert f"Log in at {base}/login" in printed
        assert f"Fenghuo on {base} " in printed
        assert ":8000" not in printed
        for noise in ("setup plugin", "Context impl", "Will assume"):
            assert noise not in printed
        assert "Running upgrade" in printed  # what the migrations did is still said
    finally:
        for pid in [proc.pid, *(descendants(proc.pid) if alive(proc.pid) else set())]:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
        proc.wait(timeout=STALL_SECONDS)
