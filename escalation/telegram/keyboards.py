"""The buttons under an alert, and the one data format they carry.

An alert has one row of inline buttons: Acknowledge, whose ``callback_data`` is
``v1:ack:<incident_id>`` (at most 64 bytes, Telegram's limit), and Open, a URL button
to the incident — only when Telegram will take the URL (it refuses loopback hosts).
An inform (a leader told, a report delivered) carries Confirm receipt (签收) instead of
Acknowledge: ``v1:rc:<receipt_id>``, which only the receipt's own person may press.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_CALLBACK_DATA = 64  # bytes; telegram.constants.InlineKeyboardButtonLimit
ACK_PREFIX = "v1:ack:"
RECEIPT_PREFIX = "v1:rc:"


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, str]:
        d = {"text": self.text}
        if self.callback_data is not None:
            d["callback_data"] = self.callback_data
        if self.url is not None:
            d["url"] = self.url
        return d


@dataclass(frozen=True)
class Rendered:
    """A message ready to send: HTML text and one row of inline buttons."""

    text: str
    buttons: tuple[Button, ...] = ()

    def reply_markup(self) -> dict[str, Any] | None:
        """The Bot API ``InlineKeyboardMarkup`` as JSON, or None without buttons."""
        if not self.buttons:
            return None
        return {"inline_keyboard": [[b.to_dict() for b in self.buttons]]}

    def without_urls(self) -> Rendered:
        """The same message without URL buttons (the link stays in the text)."""
        return Rendered(self.text, tuple(b for b in self.buttons if b.url is None))


def ack_callback(incident_id: int) -> str:
    data = f"{ACK_PREFIX}{incident_id}"
    if len(data.encode()) > MAX_CALLBACK_DATA:  # pragma: no cover - ids are integers
        raise ValueError("callback data over Telegram's 64 bytes")
    return data


def parse_ack_callback(data: str | None) -> int | None:
    """The incident id of an Acknowledge button's ``callback_data``; None if not one."""
    if not data or not data.startswith(ACK_PREFIX):
        return None
    rest = data.removeprefix(ACK_PREFIX)
    return int(rest) if rest.isdigit() and len(rest) <= 18 else None


def receipt_callback(receipt_id: int) -> str:
    return f"{RECEIPT_PREFIX}{receipt_id}"


def parse_receipt_callback(data: str | None) -> int | None:
    """The receipt id of a Confirm receipt button's ``callback_data``; None if not one."""
    if not data or not data.startswith(RECEIPT_PREFIX):
        return None
    rest = data.removeprefix(RECEIPT_PREFIX)
    return int(rest) if rest.isdigit() and len(rest) <= 18 else None


def incident_url(public_url: str, incident_id: int) -> str:
    return f"{public_url.rstrip('/')}/incidents/{incident_id}"


def url_button_allowed(url: str) -> bool:
    """Telegram refuses URL buttons pointing at loopback hosts such as ``localhost``."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith((".localhost", ".local")):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
