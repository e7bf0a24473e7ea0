"""The faces: the Flask application factory.

``create_app`` builds one application from the settings: the database engine (one per
process, never shared across a fork), the policy, the clock, authentication, the
translations, and the blueprints (web, API, auth, Telegram webhook). No scheduler and
no Telegram I/O run inside it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from config.policy import load_policy
from config.settings import Settings, load_settings
from incidents.clock import Clock, SystemClock
from incidents.db import make_engine, make_sessionmaker
from incidents.errors import FenghuoError

csrf = CSRFProtect()


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    overrides: dict[str, Any] | None = None,
) -> Flask:
    from app.auth import init_auth
    from app.extensions import Services, close_db
    from app.i18n import init_i18n
    from app.input_guard import init_input_guard, install_id_converter
    from app.security_headers import init_security_headers

    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    install_id_converter(app)  # before any route: ids past 2^31-1 match nothing
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_SECURE=settings.production,
        WTF_CSRF_TIME_LIMIT=None,
        # No request body Fenghuo accepts (an incident, a report, an organisation file)
        # comes near this; larger ones are refused with 413 before they are read.
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if overrides:
        app.config.update(overrides)
    engine = make_engine(settings.database_url)
    _bind_audit_keyring(engine, settings)
    app.extensions["fenghuo"] = Services(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        policy=load_policy(settings.policy_path),
        clock=clock or SystemClock(),
    )
    app.teardown_appcontext(close_db)
    csrf.init_app(app)
    init_auth(app, trusted_proxies=settings.trusted_proxies)
    init_input_guard(app)
    init_security_headers(
        app, hsts=settings.production and settings.public_url.startswith("https://")
    )
    init_i18n(app)
    _register_blueprints(app)
    _register_errors(app)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    if not settings.telegram_enabled:
        logging.getLogger("fenghuo").info("Telegram is off (FENGHUO_TELEGRAM_TOKEN not set)")
    return app


def _bind_audit_keyring(engine: Any, settings: Settings) -> None:
    from incidents.audit import bind_keyring

    if settings.audit_keyring is not None:
        bind_keyring(engine, settings.audit_keyring, checkpoints=settings.audit_checkpoint_path)


def _register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.auth.views import bp as auth_bp
    from app.web import bp as web_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)
    from app.accountability_api import bp as accountability_api_bp
    from app.web_accountability import bp_web as accountability_web_bp

    app.register_blueprint(accountability_api_bp, url_prefix="/api/v1", name="accountability_api")
    csrf.exempt(accountability_api_bp)
    app.register_blueprint(accountability_web_bp)
    try:
        from app.telegram_webhook import bp as tg_bp
    except ModuleNotFoundError as exc:
        if exc.name != "app.telegram_webhook":
            raise
    else:
        app.register_blueprint(tg_bp)
        csrf.exempt(tg_bp)

    @app.get("/healthz")
    def healthz() -> Any:
        from sqlalchemy import text

        from app.extensions import db

        db().execute(text("SELECT 1"))
        return jsonify({"status": "ok"})

    # /readyz (is paging working?) and /metrics (Prometheus), beside /healthz.
    from app.monitoring import bp as monitoring_bp

    app.register_blueprint(monitoring_bp)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _register_errors(app: Flask) -> None:
    """Every error in the reader's language (``app.i18n``): a page on the web, a JSON body
    ``{"error": {code, message, field, params}}`` on the API."""
    from flask import render_template

    from app.http_errors import heading, http_message
    from app.i18n import error_body, error_message

    def page(code: int, message: str) -> Any:
        return render_template(
            "errors/page.html", code=code, heading=heading(code), message=message
        ), code

    @app.errorhandler(FenghuoError)
    def _domain(exc: FenghuoError) -> Any:
        if _wants_json():
            return jsonify({"error": error_body(exc)}), exc.status
        return page(exc.status, error_message(exc))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        message = http_message("csrf")
        if _wants_json():
            body = {"code": "csrf", "message": message, "field": "csrf_token", "params": {}}
            return jsonify({"error": body}), 400
        return page(400, message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = exc.code or 500
        message = http_message(code)
        if _wants_json():
            body: dict[str, object] = {
                "code": (exc.name or "error").lower().replace(" ", "_"),
                "message": message,
                "field": None,
                "params": {},
            }
            return jsonify({"error": body}), code
        return page(code, message)
