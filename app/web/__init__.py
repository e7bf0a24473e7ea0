"""The web face (Flask-Login sessions, CSRF-protected forms)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("web", __name__)


@bp.get("/")
@login_required
def dashboard() -> str:
    return "Fenghuo"


@bp.get("/incidents")
@login_required
def incidents() -> str:
    return "incidents"
