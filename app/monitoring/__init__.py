"""Probes for machines: ``/readyz`` (is paging working?) and ``/metrics`` (Prometheus).

``/healthz`` (in ``app``) says the web process is up and reaches its database — what a
load balancer asks. ``/readyz`` says whether Fenghuo can page people right now: the
database, the worker's heartbeat, the Telegram bot, each channel, and the oldest
notification still undelivered against the delivery bound. 200 when all is well, 503
naming the failing parts (``failing``) when not. No login: it holds no secret and no
personal data — states, ages and reason codes only.

``/metrics`` is the Prometheus text format from ``prometheus_client``: the database
figures (``collector``) and, under gunicorn, every process's own metrics through the
multiprocess directory (``app.gunicorn_conf``). It is served to loopback clients only,
unless ``FENGHUO_METRICS_TOKEN`` is set, when any client presenting
``Authorization: Bearer <token>`` may scrape it (docs/operator.md).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, request
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.extensions import db, now, services
from app.monitoring.collector import DatabaseCollector
from escalation.health import PagingHealth, paging_health

bp = Blueprint("monitoring", __name__)


def _bot_expected() -> bool:
    settings = services().settings
    return settings.telegram_enabled and settings.telegram_mode == "polling"


def _seconds(value: Any) -> float | None:
    return round(value.total_seconds(), 1) if value is not None else None


def readiness(state: PagingHealth) -> dict[str, Any]:
    """``/readyz``'s body for ``state`` (the database answered)."""
    worker = state.worker
    bot = state.bot
    return {
        "ready": state.ok,
        "failing": state.problems,
        "database": {"ok": True},
        "worker": {
            "ok": not state.worker_stale,
            "heartbeat_age_seconds": _seconds(worker.age) if worker else None,
            "stale_after_seconds": _seconds(state.stale_after),
        },
        "bot": {
            "expected": state.bot_expected,
            "ok": not state.bot_unhealthy,
            "state": (bot.detail or ("polling" if bot.healthy else "failing")) if bot else None,
            "heartbeat_age_seconds": _seconds(bot.age) if bot else None,
            "failing_since": bot.failing_since.isoformat() if bot and bot.failing_since else None,
        },
        "channels": {
            c.channel: {
                "ok": not c.failing,
                "state": "failing" if c.failing else "delayed" if c.delayed else "ok",
                "reason": c.reason or None,
                "since": c.since.isoformat() if c.since and (c.failing or c.delayed) else None,
            }
            for c in state.channels
        },
        "delivery": {
            "ok": not state.overdue,
            "oldest_undelivered_age_seconds": _seconds(state.oldest_undelivered_age),
            "bound_seconds": _seconds(state.bound),
        },
    }


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    try:
        session = db()
        session.execute(text("SELECT 1"))
        state = paging_health(
            session,
            now(),
            services().policy,
            sweep_seconds=services().settings.sweep_seconds,
            bot_expected=_bot_expected(),
        )
    except SQLAlchemyError:
        current_app.logger.warning("readyz: the database did not answer", exc_info=True)
        return jsonify({"ready": False, "failing": ["database"], "database": {"ok": False}}), 503
    body = readiness(state)
    return jsonify(body), 200 if state.ok else 503


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _allowed() -> bool:
    token = services().settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return _loopback(request.remote_addr)


def registry_for(app: Flask) -> CollectorRegistry:
    """The app's registry, built once: the database collector, and the processes'
    own metrics (the multiprocess directory under gunicorn, else this process's)."""
    found = app.extensions.get("fenghuo_metrics")
    if isinstance(found, CollectorRegistry):
        return found
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REGISTRY)
    svc = app.extensions["fenghuo"]
    registry.register(
        DatabaseCollector(
            svc.sessions,
            policy=svc.policy,
            clock=svc.clock,
            sweep_seconds=svc.settings.sweep_seconds,
            bot_expected=svc.settings.telegram_enabled and svc.settings.telegram_mode == "polling",
        )
    )
    app.extensions["fenghuo_metrics"] = registry
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        abort(403 if not services().settings.metrics_token else 401)
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    registry = registry_for(current_app._get_current_object())  # type: ignore[attr-defined]
    return Response(encoder(registry), content_type=content_type)
