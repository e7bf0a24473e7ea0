"""The shape of a destination's address for each kind, checked before it is stored or used.

Each check returns ``None`` for a good address and otherwise what is wrong, in words an
operator can act on: a ``Problem``, a string (the English words) that also carries its
msgid, code and params so a face can say it in the reader's language. They are shape
checks: whether a mailbox or a webhook really exists only the far end can say (and a
refusal then disables the destination).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# local@domain: no spaces, no angle brackets or commas (one plain address, not a list),
# a dotted domain or a bracketed address literal.
_EMAIL = re.compile(r"[^\s@<>,;:\"()\[\]]+@(?:[^\s@<>,;:\"()\[\].]+\.)+[^\s@<>,;:\"()\[\].]+")
MAX_ADDRESS = 200  # destination.address is String(200)


class Problem(str):
    """What is wrong with an address: the English text, with the msgid and params behind it."""

    msgid: str
    code: str
    params: dict[str, object]

    def __new__(cls, msgid: str, code: str, **params: object) -> Problem:
        problem = super().__new__(cls, msgid % params if params else msgid)
        problem.msgid = msgid
        problem.code = code
        problem.params = params
        return problem


def email_address_error(address: str) -> Problem | None:
    if not address.strip():
        return Problem("an email address is required", "address.required")
    if len(address) > MAX_ADDRESS:
        return Problem(
            "an email address has at most %(max)s characters", "address.too_long", max=MAX_ADDRESS
        )
    if not _EMAIL.fullmatch(address):
        return Problem(
            "not an email address (name@example.gov.cn): %(address)r",
            "address.not_email",
            address=address,
        )
    return None


def webhook_url_error(url: str) -> Problem | None:
    if not url.strip():
        return Problem("a webhook URL is required", "url.required")
    if len(url) > MAX_ADDRESS:
        return Problem(
            "a webhook URL has at most %(max)s characters", "url.too_long", max=MAX_ADDRESS
        )
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return Problem("must be an https:// (or http://) URL, got %(url)r", "url.not_http", url=url)
    if any(c.isspace() for c in url):
        return Problem("a webhook URL has no spaces", "url.spaces")
    return None


def telegram_chat_error(address: str) -> Problem | None:
    try:
        chat_id = int(address)
    except ValueError:
        return Problem(
            "a Telegram chat id is a number, got %(address)r",
            "address.not_chat_id",
            address=address,
        )
    if chat_id <= 0:
        return Problem(
            "a person's Telegram chat is a private chat (a positive id)", "address.not_private_chat"
        )
    return None


def redact_webhook(url: str) -> str:
    """The URL with its key or token cut to its last four characters: a webhook URL is a
    credential (anyone holding it posts into the group), so lists and the audit trail
    show only enough to tell two apart."""
    parts = urlsplit(url)
    path = parts.path
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            name, eq, value = pair.partition("=")
            pairs.append(f"{name}{eq}…{value[-4:]}" if eq and len(value) > 4 else pair)
        query = "&".join(pairs)
    else:  # Feishu: the hook id is the last path segment
        head, _, last = path.rpartition("/")
        if len(last) > 4:
            path = f"{head}/…{last[-4:]}"
    return f"{parts.scheme}://{parts.netloc}{path}" + (f"?{query}" if query else "")
