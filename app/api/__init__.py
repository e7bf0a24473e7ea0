"""JSON API v1 (bearer tokens only)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)
