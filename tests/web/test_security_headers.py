"""Security headers (issue 12): a CSP without inline script, no framing, nosniff, a
referrer policy, and HSTS in production over HTTPS."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from app import create_app
from config.settings import load_settings
from incidents.clock import FrozenClock
from tests.conftest import TEST_SECRET
from tests.web.conftest import Browser

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "app" / "templates"


def test_every_page_forbids_framing_inline_script_and_sniffing(app: Flask, duty: Browser) -> None:
    for path in ("/login", "/", "/profile", "/api/v1/openapi.json", "/no-such-page"):
        headers = duty.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # not production


def test_production_over_https_adds_hsts(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": sqlite_url,
            "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
            "FENGHUO_ENV": "production",
            "FENGHUO_SECRET_KEY": TEST_SECRET,
            "FENGHUO_PUBLIC_URL": "https://fenghuo.example.gov.cn",
            "FENGHUO_AUDIT_KEY": "a production audit key of 32+ characters",
        }
    )
    app = create_app(settings, clock=clock)
    reply = app.test_client().get("/login")
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    app.extensions["fenghuo"].engine.dispose()


def test_no_template_has_inline_script_or_event_handlers() -> None:
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not inline_script.search(text), template
        assert not handler.search(text), template
