"""The beacon-tower icon: linked from every page (SVG, then PNG), served at /favicon.ico."""

from __future__ import annotations

from flask import Flask

from tests.web.conftest import Browser


def test_favicon_ico_is_served_without_logging_in(app: Flask) -> None:
    with app.test_client().get("/favicon.ico") as reply:
        assert reply.status_code == 200
        assert reply.mimetype == "image/vnd.microsoft.icon"
        assert reply.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
        assert reply.cache_control.max_age and reply.cache_control.max_age >= 86400


def test_every_page_links_the_svg_icon_and_its_png_fallback(app: Flask, duty: Browser) -> None:
    for path in ("/login", "/"):
        page = (duty if path == "/" else Browser(app)).text(path)
        assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in page
        assert 'href="/static/favicon-32.png" type="image/png"' in page
    client = app.test_client()
    for name, start in (
        ("favicon.svg", b"<svg"),
        ("favicon-32.png", b"\x89PNG"),
        ("apple-touch-icon.png", b"\x89PNG"),
    ):
        with client.get(f"/static/{name}") as reply:
            assert reply.status_code == 200 and reply.data.startswith(start), name
