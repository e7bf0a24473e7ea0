"""gunicorn's configuration for the web face (``gunicorn -c python:app.gunicorn_conf``).

``fenghuo run`` passes the bind address, workers and threads on the command line; this
module holds what must be code:

- **Prometheus multiprocess mode** (``prometheus_client``): each web worker (and the
  Fenghuo worker) writes its metrics to files in ``PROMETHEUS_MULTIPROC_DIR``, which
  ``fenghuo run`` creates fresh under the instance folder before it starts any process
  (set in the environment, so every child sees it from its first import). When a web
  worker exits, :func:`child_exit` marks it dead so its live gauges go; its counters
  stay, so totals never go backwards. The directory is not wiped here: the worker's
  files are in it too.
- **Dying with the supervisor**: :func:`on_starting` watches ``fenghuo run``
  (``app.lifeline``); the master then stops gracefully, within ``graceful_timeout``.
- **Logs** in ``FENGHUO_LOG_FORMAT`` (``app.logs``), the access log included.
- **A warm start**: :func:`post_worker_init` compiles the templates (``app.warm_start``)
  before the worker takes its first connection.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from app.lifeline import follow_parent
from app.logs import configure_logging, formatter
from app.warm_start import warm

# Idle workers stop at once; a request in flight gets this long after SIGTERM, so a
# restart after the supervisor died is never held up long.
graceful_timeout = 5
# Worker recycling would leave a metrics file per dead worker (prometheus_client#275).
max_requests = 0


def _log_format() -> str:
    value = os.environ.get("FENGHUO_LOG_FORMAT", "text").strip() or "text"
    return value if value in ("text", "json") else "text"


class FenghuoLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with Fenghuo's formatter on its handlers (JSON when asked)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        chosen = _log_format()
        if chosen == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(formatter(chosen))
        # The application's own loggers (fenghuo.*) go to stderr in the same format.
        configure_logging(chosen, level=logging.INFO)


logger_class = FenghuoLogger


def on_starting(server: Any) -> None:
    follow_parent()


def post_worker_init(worker: Any) -> None:
    warm(worker.wsgi)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
