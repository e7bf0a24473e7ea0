"""JSON API for accountability (issue 5): the Article 5 engine, cases and their steps.

Registered at ``/api/v1`` next to the rest of the API, with the same contract: bearer
tokens only (``app.api.auth.authenticate`` runs before every view), JSON in and out,
one use case per write inside one unit of work, errors rendered by the app's handler as
``{"error": {"code", "message", "field", "params"}}``. The use cases in ``accountability``
check who may act; a case the caller may not see is a 404, so ids cannot be probed.

``blueprint`` holds ``bp`` and the lookups its routes share; ``queries`` the routes that
store nothing, ``steps`` those that open a case and move it on, ``shapes`` their models.
Every route is declared through ``app.api.contract`` on ``bp``, so the API document
(``app.api.openapi``) describes it whenever the app registers the blueprint.
"""

from __future__ import annotations

# Importing the route modules registers their views on ``bp``.
from app.accountability_api import queries, steps  # noqa: F401
from app.accountability_api.blueprint import bp

__all__ = ["bp"]
