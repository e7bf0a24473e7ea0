"""``fenghuo run`` with Telegram unreachable stays up and says so; killed with SIGKILL it
takes every child with it, and starts again at once (issue 9, items 6 and 7).

Real processes on the wall clock: the supervisor, gunicorn with its workers, the worker
and the bot, on a temporary SQLite database and a free loopback port, with the Bot API
URL pointing at a loopback port nobody listens on. The tests wait for them while they
make progress (the log grows, children go), never for a fixed time (``tests.waiting``).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import waiting

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-pass-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only unreaped


def wait_for(
    check: Callable[[], bool], what: str, *, progress: Callable[[], object] | None = None
) -> float:
    """:func:`tests.waiting.wait_for`, returning the seconds it took (for figures)."""
    started = time.monotonic()
    waiting.wait_for(check, what, progress=progress)
    return time.monotonic() - started


def log_size(log: Path) -> int:
    """How far a process's start-up has got: its log grows as it migrates and starts."""
    return log.stat().st_size if log.exists() else 0


def get(url: str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str]:
    try:
        with (opener or urllib.request.build_opener()).open(
            url, timeout=waiting.STALL_SECONDS
        ) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


class Run:
    """One ``fenghuo run`` process and its settings."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
            "FENGHUO_HOST": "127.0.0.1",
            "FENGHUO_PORT": str(self.port),
            "FENGHUO_PUBLIC_URL": self.base,
            "FENGHUO_SWEEP_SECONDS": "1",
            "FENGHUO_DEMO_PASSWORD": PASSWORD,
            "FENGHUO_TELEGRAM_TOKEN": "123456:TEST-token",
            "FENGHUO_TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}/bot",
            "FENGHUO_LOG_FORMAT": "json",
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = tmp_path / "run.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: get(self.base + "/healthz")[0] == 200,
            "the web face",
            progress=lambda: log_size(self.log),
        )
        return self.proc

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env={**self.env, "FENGHUO_LOG_LEVEL": "WARNING"},
            capture_output=True,
            check=True,
            timeout=waiting.STALL_SECONDS,
        )
        return done.stdout.decode()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    made = Run(tmp_path)
    yield made
    if made.proc is not None:  # whatever the test left running: ours, by pid
        left = descendants(made.proc.pid) if alive(made.proc.pid) else set()
        for pid in [made.proc.pid, *left]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        made.proc.wait(timeout=waiting.STALL_SECONDS)


def logged_in(run: Run) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    _status, page = get(run.base + "/login", opener)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token is not None
    body = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "login": "duty", "password": PASSWORD, "next": ""}
    ).encode()
    opener.open(
        urllib.request.Request(run.base + "/login", data=body), timeout=waiting.STALL_SECONDS
    ).read()
    return opener


def test_run_stays_up_without_telegram_and_dies_whole_with_its_parent(
    run: Run, tmp_path: Path
) -> None:
    parent = run.start()

    # Telegram cannot be reached: the web answers, /readyz names the bot, the API works.
    def bot_reported() -> bool:
        status, body = get(run.base + "/readyz")
        return status == 503 and "bot" in json.loads(body or "{}").get("failing", [])

    wait_for(bot_reported, "/readyz to name the bot")
    status, body = get(run.base + "/readyz")
    ready = json.loads(body)
    assert ready["bot"]["state"] == "unreachable" and ready["bot"]["ok"] is False
    assert ready["worker"]["ok"] is True and ready["database"] == {"ok": True}
    assert get(run.base + "/login")[0] == 200
    token = run.cli("token", "create", "--person", "duty", "--name", "probe").split()[-1]
    request = urllib.request.Request(
        run.base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=waiting.STALL_SECONDS) as reply:
        assert json.loads(reply.read())["login"] == "duty"
    status, page = get(run.base + "/?lang=en", logged_in(run))
    assert status == 200
    assert "The Telegram bot cannot reach Telegram since" in page

    # One scrape of the web has the worker's own figures too (the multiprocess directory).
    def worker_rounds() -> float:
        status, text = get(run.base + "/metrics")
        assert status == 200
        return sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "fenghuo_sweep_duration_seconds_count"
        )

    wait_for(lambda: worker_rounds() > 0, "the worker's rounds in the web's /metrics")
    # Every process logs one JSON object per line (FENGHUO_LOG_FORMAT=json).
    records = [json.loads(line) for line in run.log.read_text().splitlines() if line[:1] == "{"]
    loggers = {r["logger"] for r in records}
    assert {"fenghuo.telegram.bot", "fenghuo.worker"} <= loggers
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)

    # SIGKILL the supervisor: every child goes, the port is freed.
    children = descendants(parent.pid)
    assert len(children) >= 4  # worker, bot, gunicorn and its workers
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=waiting.STALL_SECONDS)
    took = wait_for(
        lambda: not any(alive(pid) for pid in children) and port_free(run.port),
        "every child of the killed supervisor to stop and the port to be free",
        progress=lambda: (sum(alive(pid) for pid in children), port_free(run.port)),
    )
    print(f"children gone {took:.1f} s after SIGKILL")

    # And it starts again at once: the worker lock and the port are free.
    again = run.start()
    assert get(run.base + "/login")[0] == 200
    wait_for(
        lambda: (
            json.loads(get(run.base + "/readyz")[1] or "{}").get("worker", {}).get("ok") is True
        ),
        "the new worker's heartbeat",
    )
    children = descendants(again.pid)
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=waiting.STALL_SECONDS) == 0
    wait_for(
        lambda: not any(alive(pid) for pid in children),
        "a clean stop",
        progress=lambda: sum(alive(pid) for pid in children),
    )
