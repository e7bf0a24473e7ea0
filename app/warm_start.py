"""A served web worker compiles its templates before its first request.

Jinja compiles a template the first time it is rendered: 0.4 s for Fenghuo's, paid by
the first requests a fresh gunicorn worker serves. At 1,000,000 incidents the first
dashboard after a restart took 300 ms where the next took 85 ms (in-process, the
operating system's cache warm). gunicorn calls :func:`warm` (``post_worker_init`` in
``app.gunicorn_conf``) once the worker has loaded the application and before it takes
a connection; then ``gc.freeze()`` sets what start-up built outside the collector's
generations, so the first full collection does not walk it (it had cost the next
request 100 ms).

Tests and the CLI create apps without it: compiling every template for each would only
slow them down.
"""

from __future__ import annotations

import gc
import logging

from flask import Flask

log = logging.getLogger("fenghuo.web")


def warm(app: object) -> int:
    """Compile ``app``'s templates (when it is a Flask app); how many were compiled."""
    if not isinstance(app, Flask):
        return 0
    env = app.jinja_env
    names = [name for name in env.list_templates() if name.endswith(".html")]
    with app.app_context():
        for name in names:
            env.get_template(name)
    gc.freeze()
    log.info("warm start: %d templates compiled", len(names))
    return len(names)
