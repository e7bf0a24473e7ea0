"""gunicorn's configuration under the benches: the product's (``app.gunicorn_conf``) plus a
ready handshake.

Each web worker, once it has loaded the application and warmed up as the product's
does (``app.warm_start``), creates a file named after its pid
in ``BENCH_READY_DIR``; ``harness.Server`` waits for one per worker (and then one answer
on its probe path) instead of sleeping, so no measurement starts while a worker is still
importing the app.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.gunicorn_conf import (  # noqa: F401  (gunicorn reads these names from this module)
    child_exit,
    graceful_timeout,
    logger_class,
    max_requests,
    on_starting,
)
from app.gunicorn_conf import post_worker_init as product_post_worker_init


def post_worker_init(worker: Any) -> None:
    product_post_worker_init(worker)  # the warm start, before the worker says it is ready
    folder = os.environ.get("BENCH_READY_DIR")
    if folder:
        (Path(folder) / str(worker.pid)).touch()
