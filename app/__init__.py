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
    from flask import render_template

    @app.errorhandler(FenghuoError)
    def _domain(exc: FenghuoError) -> Any:
        if _wants_json():
            return jsonify({"error": exc.to_dict()}), exc.status
        return render_template("error.html", code=exc.status, message=exc.message), exc.status

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        body = {"code": "csrf", "message": exc.description, "field": "csrf_token"}
        if _wants_json():
            return jsonify({"error": body}), 400
        return render_template("error.html", code=400, message=exc.description), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = exc.code or 500
        if _wants_json():
            body = {
                "code": (exc.name or "error").lower().replace(" ", "_"),
                "message": exc.description,
                "field": None,
            }
            return jsonify({"error": body}), code
        return render_template("error.html", code=code, message=exc.description), code
