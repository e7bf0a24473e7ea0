"""Children of ``fenghuo run`` die with it, even when it is killed with SIGKILL.

A supervisor killed outright cannot stop its children; left running, an orphaned worker
keeps the SQLite worker lock and an orphaned gunicorn keeps the port, so the next
``fenghuo run`` cannot start. Two guards, both cheap:

1. **The kernel's**: on Linux, ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` in the child (set
   between fork and exec by :func:`child_preexec`, and kept across ``exec``) makes the
   kernel send SIGTERM to the child the moment its parent dies.
2. **A watch**, for everything else: :func:`follow_parent`, called at the start of each
   child's entry point, checks every second that its parent is still the supervisor
   (``FENGHUO_SUPERVISOR_PID``) and sends itself SIGTERM when it is not.

SIGTERM is each process's clean stop: the worker finishes its batch and releases the
lock, the bot stops polling, gunicorn closes its socket.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

SUPERVISOR_PID = "FENGHUO_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0
# A child that has not stopped this long after its SIGTERM is killed.
GRACE_SECONDS = 20.0

logger = logging.getLogger("fenghuo.run")


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel for ``sig`` when the parent dies (Linux only); True if set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def child_preexec(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the parent-death signal, and an exit
    at once if the parent died before it was set (the race the man page warns of)."""

    def preexec() -> None:
        set_parent_death_signal()
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def follow_parent(environ: dict[str, str] | None = None) -> bool:
    """In a child of ``fenghuo run`` (``FENGHUO_SUPERVISOR_PID`` set): set the
    parent-death signal again and watch the parent; True when watching."""
    env = os.environ if environ is None else environ
    raw = env.get(SUPERVISOR_PID, "").strip()
    if not raw.isdigit():
        return False
    parent = int(raw)
    set_parent_death_signal()
    me = os.getpid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                logger.warning("the supervisor (pid %d) is gone: stopping", parent)
                os.kill(me, signal.SIGTERM)
                time.sleep(GRACE_SECONDS)  # a daemon thread: gone when the process is
                os.kill(me, signal.SIGKILL)
                return
            time.sleep(WATCH_SECONDS)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()
    return True
