"""Making an :class:`~escalation.telegram.actions.Answer` with python-telegram-bot.

Answers are plain ``(method, params)`` pairs so that the webhook can queue them as
JSON; here they become the typed Bot methods (PTB refuses its generic
``do_api_request`` for methods it knows).
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions


def _markup(value: object) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup.de_json(value, None) if isinstance(value, dict) else None


def _preview(value: object) -> LinkPreviewOptions | None:
    return LinkPreviewOptions(**value) if isinstance(value, dict) else None


async def make_call(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """Call ``method`` with ``params`` (Bot API names, JSON values) on ``bot``."""
    p = dict(params)
    if method == "sendMessage":
        return await bot.send_message(
            chat_id=p.pop("chat_id"),
            text=p.pop("text"),
            parse_mode=p.pop("parse_mode", None),
            reply_markup=_markup(p.pop("reply_markup", None)),
            link_preview_options=_preview(p.pop("link_preview_options", None)),
            message_thread_id=p.pop("message_thread_id", None),
            api_kwargs=p or None,
        )
    if method == "editMessageText":
        return await bot.edit_message_text(
            text=p.pop("text"),
            chat_id=p.pop("chat_id"),
            message_id=p.pop("message_id"),
            parse_mode=p.pop("parse_mode", None),
            reply_markup=_markup(p.pop("reply_markup", None)),
            link_preview_options=_preview(p.pop("link_preview_options", None)),
            api_kwargs=p or None,
        )
    if method == "answerCallbackQuery":
        return await bot.answer_callback_query(
            callback_query_id=p.pop("callback_query_id"),
            text=p.pop("text", None),
            show_alert=p.pop("show_alert", None),
            api_kwargs=p or None,
        )
    return await bot.do_api_request(method, api_kwargs=p)
