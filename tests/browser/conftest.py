"""Browser tests: the web face served on loopback, driven by Debian's Chromium through
Playwright's sync API (no pytest plugin). Without Chromium they skip, or fail under
FENGHUO_REQUIRE_ALL=1."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.extensions import Services
from config.settings import load_settings
from incidents.accounts import set_password
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import need

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in
    # this thread while it is open, and later tests call asyncio.run().
    if not CHROMIUM.exists():
        need("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the test extra is not installed
        need("Chromium", f"playwright is not installed: {exc}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Live:
    app: Flask
    url: str
    clock: FrozenClock

    @property
    def services(self) -> Services:
        found: Services = self.app.extensions["fenghuo"]
        return found


@pytest.fixture
def live(
    sqlite_url: str, org: dict[str, Person], tmp_path: Path, clock: FrozenClock
) -> Iterator[Live]:
    """The app on a real socket; its clock is frozen, so only the browser's moves."""
    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": sqlite_url,
            "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
            "FENGHUO_ENV": "test",
            "FENGHUO_SECRET_KEY": "x" * 32,
        }
    )
    app = create_app(settings, clock=clock, overrides={"WEB_REFRESH_SECONDS": 1})
    services: Services = app.extensions["fenghuo"]
    with services.sessions() as s, s.begin():
        people = list(s.scalars(select(Person).where(Person.login.in_(("duty", "netsec")))))
        set_password(
            s, person=people[0], password=PASSWORD, actor=system_actor("cli"), now=clock.now()
        )
        for person in people[1:]:
            person.password_hash = people[0].password_hash
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(app, f"http://127.0.0.1:{server.server_port}", clock)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        services.engine.dispose()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def log_in(page: Any, live: Live, login: str = "duty") -> None:
    page.goto(f"{live.url}/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live.url}/")
