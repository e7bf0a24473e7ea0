"""``fenghuo run``'s supervisor: start the processes, restart one that stops, stop all.

A product that pages leaders must not go dark because one part stumbled: a child that
exits is started again after a backoff (:data:`FIRST_RESTART` seconds, doubling up to
:data:`MAX_RESTART`; a child that ran :data:`HEALTHY_RUN` seconds starts the count
again) while the others go on. Each child is started with the parent-death signal and
watches the supervisor (``app.lifeline``), so a SIGKILLed ``fenghuo run`` leaves
nothing behind. SIGTERM or SIGINT stops every child and waits for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.lifeline import SUPERVISOR_PID, child_preexec

FIRST_RESTART = 1.0
MAX_RESTART = 60.0
HEALTHY_RUN = 60.0
POLL_SECONDS = 0.5
STOP_SECONDS = 15.0
# ``fenghuo worker`` exits with this when another worker holds the SQLite lock.
EXIT_LOCKED = 3

Explain = Callable[["Child", int], str]


@dataclass
class Child:
    """One supervised process: ``restart`` is ``always`` or ``on_failure`` (an exit 0
    is done: the bot in webhook mode registers the webhook and exits)."""

    name: str
    argv: Sequence[str]
    restart: str = "always"
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    next_start: float = 0.0
    done: bool = False
    pids: list[int] = field(default_factory=list)


class Supervisor:
    """Runs ``children`` until :meth:`stop`; ``say`` prints what happens (one line each)."""

    def __init__(
        self,
        children: Sequence[Child],
        *,
        say: Callable[[str], None],
        env: dict[str, str] | None = None,
        on_exit: Callable[[Child, int, int], None] | None = None,
        explain: Explain | None = None,
    ) -> None:
        self.children = list(children)
        self.say = say
        self.env = dict(os.environ if env is None else env)
        self.env[SUPERVISOR_PID] = str(os.getpid())
        self.on_exit = on_exit
        self.explain = explain
        self.stopping = False

    def start(self, child: Child) -> None:
        child.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            list(child.argv), env=self.env, preexec_fn=child_preexec(os.getpid())
        )
        child.pids.append(child.proc.pid)
        child.started_at = time.monotonic()

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)

    def check(self, now: float | None = None) -> None:
        """One look at every child: note exits, schedule and make restarts."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.done or self.stopping:
                continue
            if child.proc is None:
                if now >= child.next_start:
                    self.start(child)
                continue
            code = child.proc.poll()
            if code is None:
                continue
            pid = child.proc.pid
            child.proc = None
            if self.on_exit is not None:
                self.on_exit(child, pid, code)
            if code == 0 and child.restart == "on_failure":
                child.done = True
                continue
            if now - child.started_at >= HEALTHY_RUN:
                child.failures = 0
            delay = min(FIRST_RESTART * 2**child.failures, MAX_RESTART)
            child.failures += 1
            child.next_start = now + delay
            why = self.explain(child, code) if self.explain is not None else ""
            self.say(
                f"{child.name} stopped (exit code {code}){': ' + why if why else ''}; "
                f"starting it again in {delay:g} s"
            )

    def run(self) -> None:
        """Supervise until :meth:`stop` (called from a signal handler)."""
        while not self.stopping:
            self.check()
            time.sleep(POLL_SECONDS)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM every child, wait up to ``timeout``, then SIGKILL what remains."""
        self.stopping = True
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def fresh_directory(path: Path) -> Path:
    """``path`` created empty (the metrics of an earlier run removed)."""
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    return path
