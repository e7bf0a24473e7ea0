"""The shape of a destination's address for each kind, checked before it is stored or used.

Each check returns ``None`` for a good address and otherwise what is wrong, in words an
operator can act on. They are shape checks: whether a mailbox or a webhook really exists
only the far end can say (and a refusal then disables the destination).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# local@domain: no spaces, no angle brackets or commas (one plain address, not a list),
# a dotted domain or a bracketed address literal.
_EMAIL = re.compile(r"[^\s@<>,;:\"()\[\]]+@(?:[^\s@<>,;:\"()\[\].]+\.)+[^\s@<>,;:\"()\[\].]+")
MAX_ADDRESS = 200  # destination.address is String(200)


def email_address_error(address: str) -> str | None:
    if not address.strip():
        return "an email address is required"
    if len(address) > MAX_ADDRESS:
        return f"an email address has at most {MAX_ADDRESS} characters"
    if not _EMAIL.fullmatch(address):
        return f"not an email address (name@example.gov.cn): {address!r}"
    return None


def webhook_url_error(url: str) -> str | None:
    if not url.strip():
        return "a webhook URL is required"
    if len(url) > MAX_ADDRESS:
        return f"a webhook URL has at most {MAX_ADDRESS} characters"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"must be an https:// (or http://) URL, got {url!r}"
    if any(c.isspace() for c in url):
        return "a webhook URL has no spaces"
    return None


def telegram_chat_error(address: str) -> str | None:
    try:
        chat_id = int(address)
    except ValueError:
        return f"a Telegram chat id is a number, got {address!r}"
    if chat_id <= 0:
        return "a person's Telegram chat is a private chat (a positive id)"
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
