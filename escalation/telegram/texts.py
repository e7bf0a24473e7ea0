"""What the bot says, in the recipient's language (zh_CN first, English too).

Every user-facing sentence the bot says is in :data:`TEXTS`, one catalogue per
language. Texts are Telegram HTML (``parse_mode=HTML``): :func:`text` escapes every
value filled in, unless it is wrapped in :class:`Html` (already Telegram HTML).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

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
        "head.inform": "📣 <b>{grade}网络安全事件通报</b> · {category}(请签收)",
        "head.report": "📄 <b>事件报告</b> · {mark} {grade} · {category}(请签收)",
        "button.receipt": "签收",
        "receipt.done": "已签收。谢谢。",
        "receipt.already": "您已于 {when} 签收。",
        "receipt.refuse": "这条通报不是发给您的,只能由被通报人本人签收。",
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
            "/duty — 当前值班人员\n"
            "/handoff — 确认交接班\n"
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
        # /duty and /handoff (escalation.telegram.duty_commands).
        "role.duty_officer": "值班员",
        "role.duty_leader": "带班领导",
        "role.technical_oncall": "技术值班",
        "duty.head": "<b>当前值班</b>({now})",
        "duty.line": "{role}:{name},至 {until}",
        "duty.open": "{role}:{name}",
        "duty.nobody": "{role}:值班表无人当班,由{position}承担:{names}",
        "duty.no_roster": "{role}:未设值班表,由{position}承担:{names}",
        "duty.none": "无人",
        "handoff.none": "没有需要您确认的交接班。",
        "handoff.done": "已确认交接班:{outgoing} → {incoming}({at})。",
        "handoff.already": "{at} 的交接班已由 {who} 于 {when} 确认。",
    },
    "en": {
        "head.step": "{mark} <b>{grade} incident</b> · {category}",
        "head.warning": "⚠️ <b>Report due soon</b> · {mark} {grade} · {category}",
        "head.breach": "⛔ <b>Report overdue</b> · {mark} {grade} · {category}",
        "head.acknowledged": "✅ <b>Incident acknowledged</b> · {mark} {grade} · {category}",
        "head.resolved": "☑️ <b>Incident resolved</b> · {mark} {grade} · {category}",
        "head.reopened": "🔁 <b>Incident reopened</b> · {mark} {grade} · {category}",
        "head.case": "⚖️ <b>Accountability</b> · {mark} {grade} · {category}",
        "head.inform": "📣 <b>{grade} incident: for your information</b> · {category}",
        "head.report": "📄 <b>Incident report</b> · {mark} {grade} · {category} (please confirm)",
        "button.receipt": "Confirm receipt",
        "receipt.done": "Receipt confirmed. Thank you.",
        "receipt.already": "You confirmed receipt at {when}.",
        "receipt.refuse": (
            "This notice was not sent to you; only the person informed can confirm it."
        ),
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
            "/duty — who is on duty now\n"
            "/handoff — acknowledge your duty handoff\n"
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
        "role.duty_officer": "Duty officer",
        "role.duty_leader": "Leader on duty",
        "role.technical_oncall": "Technical on-call",
        "duty.head": "<b>On duty now</b> ({now})",
        "duty.line": "{role}: {name}, until {until}",
        "duty.open": "{role}: {name}",
        "duty.nobody": "{role}: nobody on the roster; the {position} answers: {names}",
        "duty.no_roster": "{role}: no roster; the {position} answers: {names}",
        "duty.none": "nobody",
        "handoff.none": "There is no handoff for you to acknowledge.",
        "handoff.done": "Handoff acknowledged: {outgoing} → {incoming} ({at}).",
        "handoff.already": "The handoff of {at} was already acknowledged by {who} at {when}.",
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
