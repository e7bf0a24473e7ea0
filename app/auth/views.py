"""Login and logout pages."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.auth import AppUser, local_time
from app.auth.throttle import Throttle
from app.extensions import db, now, services
from incidents.accounts import attempt_login

bp = Blueprint("auth", __name__)
throttle = Throttle(limit=10, window_seconds=60)


def same_site_path(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site (no scheme, host or ``//``), else
    ``fallback``: a ``next`` taken from a request must not send anyone elsewhere."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "//" not in target:
        return target
    return fallback


def _safe_next(target: str | None) -> str:
    return same_site_path(target, url_for("web.dashboard"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    if not throttle.allow(request.remote_addr or "?"):
        flash(_("Too many login attempts from your address. Wait a minute and try again."), "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 429
    settings = services().settings
    session = db()
    with session.begin():
        outcome = attempt_login(
            session,
            login=request.form.get("login", ""),
            password=request.form.get("password", ""),
            now=now(),
            source="web",
            max_failures=settings.login_max_failures,
            lockout=timedelta(seconds=settings.login_lockout_seconds),
        )
        if outcome.ok:
            assert outcome.person is not None
            user = AppUser.of(outcome.person)
    if not outcome.ok:
        if outcome.locked_until is not None:
            flash(
                _(
                    "This account is locked after repeated failures until %(time)s.",
                    time=local_time(outcome.locked_until),
                ),
                "error",
            )
            return render_template("auth/login.html", next=request.form.get("next", "")), 423
        flash(_("Wrong login or password."), "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 401
    login_user(user)
    current_app.logger.info("login %s", user.login)
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login"))
