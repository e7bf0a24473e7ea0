"""``fenghuo run``'s supervisor: a child that stops is started again with backoff while
the others go on; a worker refused the SQLite lock is reported in words; JSON logs."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from pathlib import Path

from app.cli.supervisor import EXIT_LOCKED, FIRST_RESTART, MAX_RESTART, Child, Supervisor
from app.logs import configure_logging


def wait_exit(child: Child) -> int:
    assert child.proc is not None
    return child.proc.wait(timeout=30)


def test_a_child_that_stops_is_restarted_with_growing_backoff_and_the_others_go_on(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    quick = Child("worker", [sys.executable, "-c", "import sys; sys.exit(3)"])
    steady = Child("web", [sys.executable, "-c", "import time; time.sleep(30)"])
    supervisor = Supervisor(
        [quick, steady],
        say=said.append,
        explain=lambda child, code: "another worker holds the lock" if code == EXIT_LOCKED else "",
    )
    supervisor.start_all()
    try:
        delays = []
        for _ in range(3):
            wait_exit(quick)
            now = time.monotonic()
            supervisor.check(now)
            assert quick.proc is None  # waiting out its backoff, not started at once
            delays.append(round(quick.next_start - now, 3))
            supervisor.check(quick.next_start)  # the backoff is over: started again
            assert quick.proc is not None
        assert delays == [FIRST_RESTART, 2 * FIRST_RESTART, 4 * FIRST_RESTART]
        assert steady.proc is not None and steady.proc.poll() is None
        assert len(steady.pids) == 1  # never touched
        assert said[0] == (
            "worker stopped (exit code 3): another worker holds the lock; starting it again in 1 s"
        )
    finally:
        supervisor.stop(timeout=5)
    assert steady.proc is not None and steady.proc.poll() is not None


def test_the_backoff_is_capped_and_a_long_healthy_run_starts_the_count_again() -> None:
    child = Child("bot", [sys.executable, "-c", "pass"], failures=12)
    supervisor = Supervisor([child], say=lambda _line: None)
    supervisor.start(child)
    wait_exit(child)
    now = time.monotonic()
    supervisor.check(now)
    assert round(child.next_start - now, 3) == MAX_RESTART
    supervisor.check(child.next_start)
    wait_exit(child)
    child.started_at -= 3600  # as if it had run for an hour
    later = time.monotonic()
    supervisor.check(later)
    assert round(child.next_start - later, 3) == FIRST_RESTART


def test_a_bot_that_exits_zero_in_webhook_mode_is_done_not_restarted() -> None:
    child = Child("bot", [sys.executable, "-c", "pass"], restart="on_failure")
    supervisor = Supervisor([child], say=lambda _line: None)
    supervisor.start(child)
    wait_exit(child)
    supervisor.check()
    assert child.done and child.proc is None
    supervisor.check(time.monotonic() + 3600)
    assert child.proc is None


def test_json_logs_are_one_object_per_line_with_the_extras() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    previous = root.level
    handler = configure_logging("json", stream=out)
    try:
        logging.getLogger("fenghuo.test").warning(
            "sent %d", 3, extra={"channel": "telegram", "notification": 7}
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    line = out.getvalue().strip()
    assert "\n" not in line
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["logger"] == "fenghuo.test"
    assert record["message"] == "sent 3"
    assert (record["channel"], record["notification"]) == ("telegram", 7)
    assert record["time"].endswith("+00:00")
