"""Paging health in plain words: the dashboard's banner and an incident's delivery rows.

Reason codes (``escalation.delivery_reasons``) and the health summary
(``escalation.health``) become sentences in the reader's language, with times in the
policy's time zone — "Telegram 自 10:42 起无法送达，已改由其他渠道发送" — never an
exception's text, which stays in the database for the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask.blueprints import BlueprintSetupState

from app.extensions import now, services
from app.web import bp
from app.web.clocks import Delivery
from app.web.templating import channel_name, local
from app.web.translate import _
from escalation.delivery_reasons import reason_code
from escalation.health import ChannelState, PagingHealth, paging_health


def _time(value: datetime | None) -> str:
    """``HH:MM`` today, ``MM-DD HH:MM`` otherwise (policy time zone)."""
    if value is None:
        return "—"
    same_day = local(value, "%Y-%m-%d") == local(now(), "%Y-%m-%d")
    return local(value, "%H:%M" if same_day else "%m-%d %H:%M")


def _failing(channel: str, reason: str, since: datetime | None) -> str:
    name, at = channel_name(channel), _time(since)
    if reason == "timeout":
        return _("%(channel)s not answering since %(time)s", channel=name, time=at)
    if reason == "bad_token":
        return _("%(channel)s refuses the bot token since %(time)s", channel=name, time=at)
    if reason == "not_configured":
        return _("%(channel)s is not set up in the worker", channel=name)
    if reason in ("unreachable", ""):
        return _("%(channel)s unreachable since %(time)s", channel=name, time=at)
    return _("%(channel)s failing since %(time)s", channel=name, time=at)


def _plain(code: str, name: str) -> str:
    """Words for the reason codes that need no "since when"; ``""`` for the others."""
    return {
        "refused": _("%(channel)s: the recipient blocked or refused it", channel=name),
        "chat_gone": _("%(channel)s: the chat no longer exists", channel=name),
        "flood_wait": _("%(channel)s rate limit: sending delayed", channel=name),
        "sender_elsewhere": _("%(channel)s: waiting for the sending worker", channel=name),
        "disabled": _("%(channel)s: this destination is disabled", channel=name),
        "inactive": _("%(channel)s: the person is no longer active", channel=name),
        "interrupted": _("%(channel)s: sending was interrupted; trying again", channel=name),
        "not_configured": _("%(channel)s is not set up in the worker", channel=name),
    }.get(code, "")


def delivery_reason(d: Delivery) -> str:
    """One delivery row in words: what went wrong, since when, what was done instead."""
    name = channel_name(d.channel)
    if d.reason in ("unreachable", "timeout", "bad_token", "not_configured", "error"):
        what = _failing(d.channel, d.reason, d.failing_since)
    else:
        what = _plain(d.reason, name)
    if not what:
        return ""
    if d.delivered_instead:
        return _(
            "%(what)s, sent by %(other)s instead",
            what=what,
            other=channel_name(d.delivered_instead),
        )
    if d.status == "failed":
        return _("%(what)s; not delivered there", what=what)
    return _("%(what)s; trying again", what=what)


def event_reason(kind: str, data: dict[str, object]) -> str:
    """The ``reason`` of a timeline event in words: for a delivery event (a notice
    handed on, failed, a destination disabled) the reason code's sentence and where it
    went instead — never the stored exception text."""
    reason = str(data.get("reason") or "")
    if not (kind.startswith("notification.") or kind == "destination.disabled"):
        return reason
    channel = str(data.get("from") or data.get("channel") or "")
    code = reason_code(reason)
    name = channel_name(channel)
    words = (
        {
            "unreachable": _("%(channel)s unreachable", channel=name),
            "timeout": _("%(channel)s not answering", channel=name),
            "bad_token": _("%(channel)s refuses the bot token", channel=name),
        }.get(code)
        or _plain(code, name)
        or _("%(channel)s: not delivered", channel=name)
    )
    to = data.get("to")
    if isinstance(to, str) and to:
        return _("%(what)s; handed on to %(other)s", what=words, other=channel_name(to))
    return words


@dataclass(frozen=True)
class BannerLine:
    level: str  # danger | warning
    text: str


def _channel_line(c: ChannelState) -> BannerLine:
    if c.delayed:
        return BannerLine(
            "warning",
            _(
                "%(channel)s is limiting how fast we send (since %(time)s): notices are "
                "delayed, not lost",
                channel=channel_name(c.channel),
                time=_time(c.since),
            ),
        )
    return BannerLine(
        "danger",
        _(
            "%(what)s; sending by other channels",
            what=_failing(c.channel, c.reason, c.since),
        ),
    )


def banner_lines(state: PagingHealth) -> list[BannerLine]:
    """What the dashboard's banner says; empty when paging is healthy."""
    lines: list[BannerLine] = []
    if state.worker_stale:
        if state.worker is None:
            text = _("No worker is running: due pages and deadline alerts are not being sent.")
        else:
            text = _(
                "The worker has not reported since %(time)s: due pages and deadline alerts "
                "may not be going out.",
                time=_time(state.worker.beat_at),
            )
        lines.append(BannerLine("danger", text))
    lines.extend(_channel_line(c) for c in state.channels if c.failing or c.delayed)
    if state.bot_unhealthy:
        if state.bot is None:
            text = _(
                "The Telegram bot is not running: buttons and commands in Telegram do not work."
            )
        elif state.bot.detail == "starting":
            text = _("The Telegram bot is starting.")
        else:
            text = _(
                "The Telegram bot cannot reach Telegram since %(time)s: buttons and commands "
                "in Telegram do not work; the web does.",
                time=_time(state.bot.failing_since or state.bot.beat_at),
            )
        lines.append(BannerLine("warning", text))
    age = state.oldest_undelivered_age
    if state.overdue and age is not None:
        lines.append(
            BannerLine(
                "danger",
                _(
                    "A notice has waited %(minutes)d minutes to be delivered, longer than the "
                    "%(bound)d minutes allowed.",
                    minutes=int(age.total_seconds() // 60),
                    bound=max(1, round(state.bound.total_seconds() / 60)),
                ),
            )
        )
    return lines


def current_banner() -> list[BannerLine]:
    """The banner at the request's time, from the request's session."""
    from app.extensions import db

    svc = services()
    state = paging_health(
        db(),
        now(),
        svc.policy,
        sweep_seconds=svc.settings.sweep_seconds,
        bot_expected=svc.settings.telegram_enabled and svc.settings.telegram_mode == "polling",
    )
    return banner_lines(state)


@bp.record_once
def _globals(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals.update(delivery_reason=delivery_reason, event_reason=event_reason)
