"""The words for an incident's facts: grade, category, status, title, times, deadlines.

Each takes the recipient's language (zh_CN first, English too) and returns plain text,
except :func:`deadline_line` and :func:`ack_line`, which are catalogue sentences and so
Telegram HTML. Times are shown in the deployment's zone; durations are rounded down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from escalation.telegram.texts import TEXTS, language_of, text
from incidents.grading import GRADE_NAMES
from incidents.lifecycle import STATUS_NAMES
from incidents.models import CATEGORIES

MAX_TITLE = 300

GRADE_MARKS = {
    "especially_major": "🔴",
    "major": "🟠",
    "relatively_major": "🟡",
    "general": "🔵",
}


@dataclass(frozen=True)
class Deadline:
    """The nearest deadline still open: a reporting obligation or the handling target."""

    name_zh: str
    name_en: str
    due_at: datetime


def grade_label(grade: str, language: str | None) -> str:
    zh, en = GRADE_NAMES.get(grade, (grade, grade))
    return zh if language_of(language) == "zh_CN" else en.capitalize()


def category_label(category: str, language: str | None) -> str:
    zh, en = CATEGORIES.get(category, (category, category))
    return zh if language_of(language) == "zh_CN" else en


def status_label(status: str, language: str | None) -> str:
    zh, en = STATUS_NAMES.get(status, (status, status))
    return zh if language_of(language) == "zh_CN" else en


def title_of(title: str, language: str | None, *, redact: bool) -> str:
    if redact:
        return TEXTS[language_of(language)]["redacted"]
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def duration_words(delta: timedelta, language: str | None) -> str:
    """A short, rounded-down duration: "1 小时 5 分钟" / "1 h 5 min"."""
    lang = language_of(language)
    minutes = int(abs(delta).total_seconds()) // 60
    if minutes == 0:
        return TEXTS[lang]["s"]
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(TEXTS[lang]["d"].format(n=days))
    if hours:
        parts.append(TEXTS[lang]["h"].format(n=hours))
    if mins and not days:
        parts.append(TEXTS[lang]["m"].format(n=mins))
    return TEXTS[lang]["sep"].join(parts)


def local_time(at: datetime, tz: tzinfo, now: datetime) -> str:
    """``09:30`` today (in ``tz``), else ``11-27 09:30``."""
    local, today = at.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


def deadline_line(deadline: Deadline, language: str | None, tz: tzinfo, now: datetime) -> str:
    lang = language_of(language)
    name = deadline.name_zh if lang == "zh_CN" else deadline.name_en
    left = deadline.due_at - now
    key = "deadline.left" if left >= timedelta(0) else "deadline.over"
    return text(
        key,
        lang,
        name=name,
        left=duration_words(left, lang),
        due=local_time(deadline.due_at, tz, now),
    )


def ack_line(who: str, at: datetime, language: str | None, tz: tzinfo, now: datetime) -> str:
    return text("ack.line", language, who=who, when=local_time(at, tz, now))
