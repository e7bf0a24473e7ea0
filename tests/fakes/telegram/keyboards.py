"""Telegram's checks on ``reply_markup``: inline keyboards, their buttons and data.

Button URLs are checked for their scheme only; Telegram also rejects hosts such as
``localhost``.
"""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

from tests.fakes.telegram.wire import JSON, ApiError

MAX_CALLBACK_DATA = 64  # bytes; telegram.constants.InlineKeyboardButtonLimit

_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def inline_markup(markup: object) -> JSON | None:
    """Validate ``reply_markup``; return it when it is an inline keyboard (Message echoes it)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
            return None  # reply keyboards are accepted but not part of the Message
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text is empty")
        if len(_BUTTON_ACTIONS & button.keys()) != 1:
            raise ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard",
            )
        data = button.get("callback_data")
        if "callback_data" in button and (
            not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA
        ):
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        url = button.get("url")
        if "url" in button and (
            not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https", "tg"}
        ):
            raise ApiError(
                400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
            )
    return markup
