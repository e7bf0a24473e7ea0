"""What the bot says, in the recipient's language (zh_CN first, English too).

Alerts carry the number, the grade with its colour mark, the category, the title (or
"[redacted]" when the policy says so), the time left on the nearest deadline and a link
to the incident, never sensitive detail (DESIGN.md "Telegram"). Texts are Telegram HTML
(``parse_mode=HTML``): everything that comes from users is escaped.

Contract: :func:`render_notice` returns a :class:`Rendered` whose visible text is at
most 4096 characters and whose ``callback_data`` is at most 64 bytes (Telegram's
limits); the Acknowledge button carries ``v1:ack:<incident_id>``.
"""

from __future__ import annotations

import html
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from incidents.grading import GRADE_NAMES
from incidents.lifecycle import STATUS_NAMES
from incidents.models import CATEGORIES

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
MAX_TEXT = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_DATA = 64  # bytes; telegram.constants.InlineKeyboardButtonLimit
MAX_TITLE = 300
ACK_PREFIX = "v1:ack:"

GRADE_MARKS = {
    "especially_major": "🔴",
    "major": "🟠",
    "relatively_major": "🟡",
    "general": "🔵",
}

# One catalogue per language; every user-facing sentence the bot says is here.
TEXTS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "head.step": "{mark} <b>{grade}网络安全事件</b> · {category}",
        "head.warning": "⚠️ <b>报告时限将至</b> · {mark} {grade} · {category}",
        "head.breach": "⛔ <b>报告已超时</b> · {mark} {grade} · {category}",
        "head.acknowledged": "✅ <b>事件已确认</b> · {mark} {grade} · {category}",
        "head.resolved": "☑️ <b>事件已处置</b> · {mark} {grade} · {category}",
        "head.reopened": "🔁 <b>事件已重开</b> · {mark} {grade} · {category}",
        "head.case": "⚖️ <b>责任追究</b> · {mark} {grade} · {category}",
        "deadline.left": "距「{name}」截止还剩 {left}(截止 {due})",
        "deadline.over": "「{name}」已超时 {left}(截止 {due})",
        "ack.line": "✅ 已由 {who} 于 {when} 确认",
        "ack.by": "确认人:{who},{when}",
        "redacted": "[已隐去]",
        "button.ack": "确认收到",
        "button.open": "打开事件",
        "d": "{n} 天",
        "h": "{n} 小时",
        "m": "{n} 分钟",
        "s": "不到 1 分钟",
        "sep": " ",
        "status": "状态:{status}",
        # The bot's answers.
        "help": (
            "<b>烽火 · 网络安全事件告警</b>\n"
            "/incidents — 您可查看的未结事件\n"
            "/status 编号 — 事件状态\n"
            "/ack 编号 — 确认收到事件\n"
            "/help — 本说明\n"
            "编号可写全(FH-2026-0007)或只写序号(7)。"
        ),
        "help.unlinked": (
            "您的 Telegram 账号尚未关联烽火账号。请登录烽火,在个人资料页取得关联码,"
            "然后在此发送:/start 关联码"
        ),
        "help.group": (
            "本群的 chat id 是 <code>{chat_id}</code>。管理员可运行:\n"
            "fenghuo telegram link-group --chat-id {chat_id} --role 角色\n"
            "或在本群发送:/linkgroup role 角色 或 /linkgroup department 部门代码"
        ),
        "start.ok": "已关联:{name}({login})。今后的告警将发到这里。发送 /help 查看命令。",
        "start.bad": "关联码无效、已使用或已过期(有效期 10 分钟)。请在个人资料页重新取得。",
        "start.private": "请在与机器人的私聊中发送 /start 关联码。",
        "refuse.unlinked": (
            "抱歉,您的 Telegram 账号未关联烽火账号,无法执行此操作。发送 /help 了解如何关联。"
        ),
        "refuse.rights": "抱歉,您无权对事件 {number} 执行此操作。",
        "refuse.unknown": "抱歉,没有找到编号为 {number} 的事件,或您无权查看。",
        "refuse.usage": "用法:{usage}",
        "refuse.button": "抱歉,此按钮已失效。",
        "refuse.admin": "抱歉,只有管理员可以关联群组。",
        "ack.done": "已确认事件 {number}。后续升级提醒已停止。",
        "ack.already": "事件 {number} 已由 {who} 于 {when} 确认。",
        "ack.closed": "事件 {number} 当前状态为「{status}」,无需确认。",
        "incidents.none": "目前没有您可查看的未结事件。",
        "incidents.head": "<b>未结事件</b>({count})",
        "incidents.more": "……另有 {count} 起,请在网页上查看。",
        "status.unacked": "尚未确认",
        "group.linked": "本群已关联到{target},相关告警将发到这里。",
        "group.role": "角色「{name}」",
        "group.department": "部门「{name}」",
        "group.bad": "没有这个角色或部门:{what}",
    },
    "en": {
        "head.step": "{mark} <b>{grade} incident</b> · {category}",
        "head.warning": "⚠️ <b>Report due soon</b> · {mark} {grade} · {category}",
        "head.breach": "⛔ <b>Report overdue</b> · {mark} {grade} · {category}",
        "head.acknowledged": "✅ <b>Incident acknowledged</b> · {mark} {grade} · {category}",
        "head.resolved": "☑️ <b>Incident resolved</b> · {mark} {grade} · {category}",
        "head.reopened": "🔁 <b>Incident reopened</b> · {mark} {grade} · {category}",
        "head.case": "⚖️ <b>Accountability</b> · {mark} {grade} · {category}",
        "deadline.left": "“{name}” due in {left} ({due})",
        "deadline.over": "“{name}” overdue by {left} (was due {due})",
        "ack.line": "✅ Acknowledged by {who} at {when}",
        "ack.by": "Acknowledged by {who} at {when}",
        "redacted": "[redacted]",
        "button.ack": "Acknowledge",
        "button.open": "Open",
        "d": "{n} d",
        "h": "{n} h",
        "m": "{n} min",
        "s": "under a minute",
        "sep": " ",
        "status": "Status: {status}",
        "help": (
            "<b>Fenghuo · incident alerts</b>\n"
            "/incidents — open incidents you may see\n"
            "/status NUMBER — an incident's state\n"
            "/ack NUMBER — acknowledge an incident\n"
            "/help — this help\n"
            "Write the full number (FH-2026-0007) or just the sequence (7)."
        ),
        "help.unlinked": (
            "This Telegram account is not linked to a Fenghuo account yet. Sign in to "
            "Fenghuo, take a link code from your profile page and send here: /start CODE"
        ),
        "help.group": (
            "This group's chat id is <code>{chat_id}</code>. An administrator can run:\n"
            "fenghuo telegram link-group --chat-id {chat_id} --role ROLE\n"
            "or send here: /linkgroup role ROLE or /linkgroup department CODE"
        ),
        "start.ok": (
            "Linked: {name} ({login}). Alerts will come here from now on. Send /help "
            "for the commands."
        ),
        "start.bad": (
            "That link code is invalid, used or expired (codes last 10 minutes). Take a "
            "new one from your profile page."
        ),
        "start.private": "Please send /start CODE in a private chat with the bot.",
        "refuse.unlinked": (
            "Sorry, this Telegram account is not linked to a Fenghuo account, so it "
            "cannot do that. Send /help to see how to link it."
        ),
        "refuse.rights": "Sorry, you may not do that to incident {number}.",
        "refuse.unknown": "Sorry, there is no incident {number} that you may see.",
        "refuse.usage": "Usage: {usage}",
        "refuse.button": "Sorry, this button no longer works.",
        "refuse.admin": "Sorry, only an administrator can link a group.",
        "ack.done": "Incident {number} acknowledged. Further escalation has stopped.",
        "ack.already": "Incident {number} was already acknowledged by {who} at {when}.",
        "ack.closed": "Incident {number} is {status}; there is nothing to acknowledge.",
        "incidents.none": "There are no open incidents you may see.",
        "incidents.head": "<b>Open incidents</b> ({count})",
        "incidents.more": "…and {count} more; see the web page.",
        "status.unacked": "not acknowledged yet",
        "group.linked": "This group is now linked to {target}; its alerts will come here.",
        "group.role": "the role “{name}”",
        "group.department": "the department “{name}”",
        "group.bad": "No such role or department: {what}",
    },
}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def text(key: str, language: str | None, **values: Any) -> str:
    """The catalogue sentence ``key`` in ``language`` with ``values`` filled in (escaped)."""
    template = TEXTS[language_of(language)][key]
    return template.format(**{k: _escape(v) for k, v in values.items()})


def _escape(value: Any) -> str:
    return value.html if isinstance(value, Html) else html.escape(str(value), quote=False)


@dataclass(frozen=True)
class Html:
    """Text that is already Telegram HTML and must not be escaped again."""

    html: str


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


@dataclass(frozen=True)
class Deadline:
    """The nearest deadline still open: a reporting obligation or the handling target."""

    name_zh: str
    name_en: str
    due_at: datetime


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
    if kind in ("step", "warning", "breach") and facts.acknowledged_at is None:
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
