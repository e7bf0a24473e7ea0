"""``/favicon.ico``: browsers and feed readers ask for it at the root whatever the page
links, so the beacon-tower icon (``static/favicon.ico``, 16/32/48 px) is served there too.
The pages link the SVG (``static/favicon.svg``) first and a PNG for browsers without SVG
icons."""

from __future__ import annotations

from flask import current_app, send_from_directory
from werkzeug.wrappers import Response

from app.web import bp

DAY = 24 * 3600


@bp.get("/favicon.ico")
def favicon() -> Response:
    folder = current_app.static_folder
    assert folder is not None
    return send_from_directory(
        folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=7 * DAY
    )
