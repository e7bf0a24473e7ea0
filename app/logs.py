"""How every Fenghuo process logs: plain text for people, or one JSON object per line.

``FENGHUO_LOG_FORMAT=json`` (default ``text``) makes each record a single line of JSON —
``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the exception's traceback
as ``exc_info`` when there is one, and every extra the call passed
(``logger.info("sent", extra={"channel": "telegram"})``) — so a log shipper can index
them without parsing. The web (gunicorn, through ``app.gunicorn_conf``), the worker,
the bot and ``fenghuo run`` itself all call :func:`configure_logging`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The attributes every LogRecord has; anything else on a record is an extra.
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(body, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {log_format!r}")
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(
    log_format: str = "text", *, level: int | str = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger to ``stream`` (stderr) in ``log_format``; replaces the plain
    stream handlers already there (``basicConfig``'s, an earlier call's), so calling it
    twice is harmless and no record is written twice."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if type(h) is logging.StreamHandler]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level)
    return handler
