"""What the profile page shows about Telegram: linked or not, and a code to link with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from escalation.telegram.link_codes import IssuedCode, current_code_for, issue_code
from escalation.telegram.person_links import link_of


@dataclass(frozen=True)
class TelegramProfile:
    """What the profile page shows about Telegram (``telegram/profile_block.html``)."""

    enabled: bool
    linked: bool
    username: str = ""
    linked_at: datetime | None = None
    code: IssuedCode | None = None


def telegram_profile(
    session: Session,
    *,
    person_id: int,
    now: datetime,
    secret_key: str,
    enabled: bool,
    issue: bool = True,
) -> TelegramProfile:
    """The profile page's Telegram state; with ``issue``, a code when none is valid.

    Call it inside a transaction when ``issue`` is true (issuing writes a row). The same
    code is shown on every visit while it is valid, so reloading the page is harmless.
    """
    if not enabled:
        return TelegramProfile(enabled=False, linked=False)
    link = link_of(session, person_id)
    code = current_code_for(session, person_id, now, secret_key=secret_key)
    if code is None and issue:
        code = issue_code(session, person_id=person_id, now=now, secret_key=secret_key)
    if link is not None:
        return TelegramProfile(True, True, link.username, link.linked_at, code)
    return TelegramProfile(True, False, code=code)
