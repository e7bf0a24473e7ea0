"""The per-address login limit holds across two gunicorn workers (issue 12): it is kept
in the database, not in a worker's memory. Real gunicorn on loopback, real HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET, need
from tests.waiting import STALL_SECONDS, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
LIMIT = 4
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gunicorn(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_SECRET_KEY": TEST_SECRET,
        "FENGHUO_ENV": "test",
        "FENGHUO_LOGIN_ADDRESS_LIMIT": str(LIMIT),
    }
    gunicorn_bin = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [
            str(gunicorn_bin),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(log),
            "--access-logformat",
            "%(p)s %(m)s %(U)s %(s)s",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STALL_SECONDS
    while True:
        try:
            httpx.get(base + "/healthz", timeout=2)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _out, err = process.communicate()
                need("gunicorn", err.decode(errors="replace")[-500:])
            time.sleep(0.2)
    try:
        yield base, log
    finally:
        process.terminate()
        process.communicate(timeout=STALL_SECONDS)


def _attempt(base: str) -> int:
    # A new connection each time, so that either worker may take it.
    with httpx.Client(base_url=base, timeout=STALL_SECONDS) as client:
        token = TOKEN.search(client.get("/login").text)
        assert token is not None
        reply = client.post(
            "/login",
            data={"login": "nobody", "password": "guess", "csrf_token": token.group(1)},
        )
        return reply.status_code


def test_the_address_limit_holds_across_two_gunicorn_workers(
    gunicorn: tuple[str, Path],
) -> None:
    base, log = gunicorn
    codes = [_attempt(base) for _ in range(3 * LIMIT)]
    assert codes == [401] * LIMIT + [429] * (2 * LIMIT)

    def posts_logged() -> list[list[str]]:
        lines = log.read_text().splitlines()
        return [line.split() for line in lines if " POST /login " in line]

    # The access log is written after each response: wait for all of them.
    posts = wait_for(
        lambda: logged if len(logged := posts_logged()) == 3 * LIMIT else [],
        "the access log to record every login",
        progress=lambda: len(posts_logged()),
    )
    refused_by = {pid for pid, _m, _u, status in posts if status == "429"}
    served_by = {pid for pid, *_ in posts}
    assert len(served_by) == 2, "both workers answered logins"
    assert len(refused_by) == 2, "and both refused the address after the limit"
