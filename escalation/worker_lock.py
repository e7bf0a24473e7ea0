"""One worker per SQLite database: an exclusive lock file held for the process's life.

SQLite has one writer at a time, and two workers would only take turns at the write
lock while doubling the chances of "database is locked"; a second worker is refused
with a message that says why. The lock is ``flock(LOCK_EX | LOCK_NB)`` on
``<database>.worker.lock``: the kernel drops it when the process dies, however it dies,
so a crash never leaves a stale lock. PostgreSQL needs none: its workers share the work
through ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WorkerAlreadyRunning(RuntimeError):
    """Another worker holds the SQLite database's worker lock."""


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; ``None`` for other engines or in-memory."""
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split("///", 1)[-1]
    return Path(path).resolve() if path and path != ":memory:" else None


@contextmanager
def single_worker_lock(database_url: str) -> Iterator[None]:
    """Hold ``<db>.worker.lock`` exclusively on SQLite; do nothing on PostgreSQL."""
    path = sqlite_path(database_url)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".worker.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise WorkerAlreadyRunning(
            f"another worker is already running on {path} (lock file {lock_path} is held"
            + (f" by process {holder}" if holder else "")
            + "). SQLite allows one worker: stop the other one, or use PostgreSQL to run"
            " several side by side."
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
