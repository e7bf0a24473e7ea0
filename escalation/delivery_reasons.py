"""Why a delivery failed, as a short reason code rather than an exception's text.

Channels raise ``ChannelError(reason)`` with text meant for logs (``chat 1001:
NetworkError: httpx.ConnectError: All connection attempts failed``). What people see —
the dashboard's banner, an incident's delivery rows, ``/readyz`` — is a code from
:data:`REASONS`, which the faces turn into words in the reader's language; the raw text
stays in the database (``notification.last_error``, ``delivery_attempt.error``) for the
operator.

Codes that say the *channel* is down for everyone (:data:`CHANNEL_WIDE`) make a channel
"failing"; codes about one destination (a blocked bot, a chat that is gone) do not.
A flood wait delays, it does not fail (:data:`DELAYING`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# In the order they are tested: the first pattern that matches names the reason.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern, re.IGNORECASE))
    for code, pattern in (
        ("flood_wait", r"flood (control|limit)|retry after|too many requests|\b429\b"),
        ("sender_elsewhere", r"another worker is sending"),
        (
            "bad_token",
            r"token was refused|invalidtoken|unauthori[sz]ed|\b401\b|authentication"
            r"|bad credentials|SMTPAuthenticationError",
        ),
        ("disabled", r"destination disabled"),
        ("inactive", r"no longer active"),
        ("chat_gone", r"chat not found|user is deactivated|peer_id_invalid|not a telegram chat"),
        (
            "refused",
            r"forbidden|blocked by the user|bot was kicked|\b403\b|recipients? refused"
            r"|SMTPRecipientsRefused|mailbox unavailable|\b550\b",
        ),
        (
            "timeout",
            r"timed ?out|did not answer within|timeout",
        ),
        (
            "unreachable",
            r"networkerror|connecterror|connection (refused|reset|aborted|error)"
            r"|all connection attempts failed|name or service not known|unreachable"
            r"|temporary failure in name resolution|nodename nor servname|errno 111"
            r"|SMTPConnectError|SMTPServerDisconnected|ssl|certificate",
        ),
        ("not_configured", r"no '[^']+' channel is configured|channel is closed"),
        ("interrupted", r"lease (held by .* lapsed|lost)"),
    )
)

REASONS = (
    "unreachable",
    "timeout",
    "bad_token",
    "refused",
    "chat_gone",
    "flood_wait",
    "sender_elsewhere",
    "disabled",
    "inactive",
    "not_configured",
    "interrupted",
    "error",
)
# The channel cannot reach anyone (not one destination's trouble).
CHANNEL_WIDE = frozenset({"unreachable", "timeout", "bad_token", "not_configured"})
# Delays, not failures: Telegram's flood control, another process sending for the bot.
DELAYING = frozenset({"flood_wait", "sender_elsewhere"})


def reason_code(error: str | None) -> str:
    """The reason code for a stored delivery error (``""`` when there is no error).

    >>> reason_code("chat 1001: NetworkError: httpx.ConnectError: All connection attempts failed")
    'unreachable'
    >>> reason_code("Telegram flood control: retry after 30 s")
    'flood_wait'
    """
    if not error or not error.strip():
        return ""
    # "gave up after 8 attempts: <the last error>" is about the last error.
    text = re.sub(r"^gave up after \d+ attempts:\s*", "", error.strip(), flags=re.IGNORECASE)
    for code, pattern in _PATTERNS:
        if pattern.search(text):
            return code
    return "error"


def is_channel_wide(code: str) -> bool:
    return code in CHANNEL_WIDE


def delivery_facts(
    note: Any, notes: Sequence[Any], history: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """What an incident page says about one notification's delivery, beside its status:
    ``reason`` (a code, empty once sent), ``failing_since`` (ISO time of its first
    failed attempt) and ``delivered_instead`` (the channel that delivered the same notice
    to the same person, when this one did not). ``notes`` are the incident's
    notifications, ``history`` this one's attempts as ``escalation.queries`` lists them.
    """
    if note.status == "sent":
        return {"reason": "", "failing_since": None, "delivered_instead": None}
    failed = [a for a in history if a.get("outcome") in ("temporary", "permanent")]
    since = (failed[0].get("finished_at") or failed[0].get("started_at")) if failed else None
    instead = next(
        (
            other.channel
            for other in notes
            if other.id != note.id
            and other.status == "sent"
            and other.channel not in (note.channel, "inbox")
            and (
                other.fallback_of_id == note.id
                or (
                    other.timer_id == note.timer_id
                    and other.person_id == note.person_id
                    and other.person_id is not None
                )
            )
        ),
        None,
    )
    return {
        "reason": reason_code(note.last_error),
        "failing_since": since,
        "delivered_instead": instead,
    }
