"""Typed gettext for the web face's Python (the catalogue's extractor reads ``_(...)``).

Flask-Babel ships no type information; this wrapper gives ``str`` back so that views and
helpers stay strictly typed. Templates use Flask-Babel's own ``_`` directly.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext


def _(message: str, **variables: Any) -> str:
    """``message`` in the request's language, with ``%(name)s`` variables filled in."""
    return str(gettext(message, **variables))
