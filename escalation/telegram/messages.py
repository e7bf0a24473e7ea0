"""Alert messages: a notice rendered for one recipient, and a copy edited after an ack.

Alerts carry the number, the grade with its colour mark, the category, the title (or
"[redacted]" when the policy says so), the time left on the nearest deadline and a link
to the incident, never sensitive detail (DESIGN.md "Telegram"). Texts are Telegram HTML
(``parse_mode=HTML``): everything that comes from users is escaped.

Contract: :func:`render_notice` returns a :class:`Rendered` whose visible text is at
most 4096 characters and whose ``callback_data`` is at most 64 bytes (Telegram's
limits); the Acknowledge button carries ``v1:ack:<incident_id>``.

The sentences live in :mod:`~escalation.telegram.texts`, the words for the facts in
:mod:`~escalation.telegram.labels` and the buttons in
:mod:`~escalation.telegram.keyboards`; their names are re-exported here, where callers
have always imported them from.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from escalation.telegram.keyboards import (
    ACK_PREFIX,
    MAX_CALLBACK_DATA,
    Button,
    Rendered,
    ack_callback,
    incident_url,
    parse_ack_callback,
    receipt_callback,
    url_button_allowed,
)
from escalation.telegram.labels import (
    GRADE_MARKS,
    MAX_TITLE,
    Deadline,
    ack_line,
    category_label,
    deadline_line,
    duration_words,
    grade_label,
    local_time,
    status_label,
    title_of,
)
from escalation.telegram.texts import DEFAULT_LANGUAGE, LANGUAGES, TEXTS, Html, language_of, text

__all__ = [
    "ACK_PREFIX",
    "DEFAULT_LANGUAGE",
    "GRADE_MARKS",
    "LANGUAGES",
    "MAX_CALLBACK_DATA",
    "MAX_TEXT",
    "MAX_TITLE",
    "TEXTS",
    "AlertFacts",
    "Button",
    "Deadline",
    "Html",
    "Rendered",
    "ack_callback",
    "ack_line",
    "acknowledged_copy",
    "category_label",
    "deadline_line",
    "duration_words",
    "grade_label",
    "incident_url",
    "language_of",
    "local_time",
    "parse_ack_callback",
    "render_notice",
    "status_label",
    "text",
    "title_of",
    "url_button_allowed",
]

MAX_TEXT = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH


@dataclass(frozen=True)
class AlertFacts:
    """What a message says about one incident; frozen when the notice was written."""

    incident_id: int
    number: str
    grade: str
    category: str
    title: str
    kind: str = "step"
    status: str = "new"
    deadline: Deadline | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)
    # An inform's receipt: the message carries the Confirm receipt (签收) button.
    receipt_id: int | None = None


def render_notice(
    facts: AlertFacts,
    *,
    language: str | None,
    public_url: str,
    redact_titles: bool,
    tz: tzinfo,
    now: datetime,
) -> Rendered:
    """The message for one notice (``facts.kind``) to one recipient.

    Step, warning and breach notices carry the Acknowledge button while the incident is
    unacknowledged; every notice carries Open when the public URL can be a button.
    """
    lang = language_of(language)
    kind = facts.kind if f"head.{facts.kind}" in TEXTS[lang] else "step"
    lines = [
        text(
            f"head.{kind}",
            lang,
            mark=GRADE_MARKS.get(facts.grade, "⚪"),
            grade=grade_label(facts.grade, lang),
            category=category_label(facts.category, lang),
        ),
        f"<b>{html.escape(facts.number)}</b> "
        + html.escape(title_of(facts.title, lang, redact=redact_titles), quote=False),
    ]
    if kind in ("resolved", "reopened"):
        lines.append(text("status", lang, status=status_label(facts.status, lang)))
    if facts.deadline is not None and kind not in ("resolved",):
        lines.append(deadline_line(facts.deadline, lang, tz, now))
    if facts.acknowledged_by and facts.acknowledged_at is not None:
        lines.append(ack_line(facts.acknowledged_by, facts.acknowledged_at, lang, tz, now))
    lines.extend(html.escape(line, quote=False) for line in facts.extra)
    url = incident_url(public_url, facts.incident_id)
    lines.append(html.escape(url))
    buttons: list[Button] = []
    if facts.receipt_id is not None:
        buttons.append(
            Button(TEXTS[lang]["button.receipt"], callback_data=receipt_callback(facts.receipt_id))
        )
    elif kind in ("step", "warning", "breach") and facts.acknowledged_at is None:
        buttons.append(
            Button(TEXTS[lang]["button.ack"], callback_data=ack_callback(facts.incident_id))
        )
    if url_button_allowed(url):
        buttons.append(Button(TEXTS[lang]["button.open"], url=url))
    return Rendered(_fit("\n".join(lines)), tuple(buttons))


def acknowledged_copy(
    original_html: str,
    *,
    incident_id: int,
    who: str,
    at: datetime,
    language: str | None,
    public_url: str,
    tz: tzinfo,
    now: datetime,
) -> Rendered:
    """An alert copy edited after acknowledgement: the same text, who and when, no Ack."""
    line = ack_line(who, at, language, tz, now)
    body = original_html if line in original_html else f"{original_html}\n\n{line}"
    url = incident_url(public_url, incident_id)
    buttons = (Button(TEXTS[language_of(language)]["button.open"], url=url),)
    return Rendered(_fit(body), buttons if url_button_allowed(url) else ())


def _fit(body: str) -> str:
    """Keep the visible text within Telegram's 4096 characters (titles are capped
    already; this guards the sum)."""
    if len(body) <= MAX_TEXT:
        return body
    return body[: MAX_TEXT - 1] + "…"  # pragma: no cover - titles are capped at 300
