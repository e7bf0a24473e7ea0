"""Links that confirm a receipt without logging in: the one in an inform's email.

A link carries the receipt id and an HMAC-SHA256 over it and the recipient's person id,
keyed with the deployment's secret key: it confirms that one receipt for that one person
and nothing else, and cannot be made without the key. Opening it shows a page with one
button (a mail scanner that follows links confirms nothing); pressing it confirms.
"""

from __future__ import annotations

import hashlib
import hmac

PATH = "/receipts/confirm/"


def _mac(secret: str, receipt_id: int, person_id: int) -> str:
    message = f"receipt:{receipt_id}:{person_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def confirm_token(secret: str, receipt_id: int, person_id: int) -> str:
    """``<receipt id>.<person id>.<mac>``: what goes after :data:`PATH`."""
    return f"{receipt_id}.{person_id}.{_mac(secret, receipt_id, person_id)}"


def read_confirm_token(secret: str, token: str) -> tuple[int, int] | None:
    """(receipt id, person id) for a token made with ``secret``; ``None`` otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    receipt_id, person_id = int(parts[0]), int(parts[1])
    if receipt_id > 2**62 or person_id > 2**62:
        return None
    if not hmac.compare_digest(parts[2], _mac(secret, receipt_id, person_id)):
        return None
    return receipt_id, person_id


def confirm_url(public_url: str, secret: str, receipt_id: int, person_id: int) -> str:
    """The full link for an email: the public URL, :data:`PATH` and the token."""
    return public_url.rstrip("/") + PATH + confirm_token(secret, receipt_id, person_id)
