"""The Bot API's message methods: sendMessage, editMessageText, deleteMessage and
answerCallbackQuery, with Telegram's checks, and the record of what was accepted.

Each accepted call is kept for tests to read (``sent``, ``edits``, ``deleted``,
``callback_answers``); sendMessage and editMessageText count against the flood limits.
Like Telegram, an edit without ``reply_markup`` removes the inline keyboard, and an
edit that changes nothing is refused ("message is not modified"). Callers hold the
fake's lock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from tests.fakes.telegram.chats import Chats
from tests.fakes.telegram.entities import message_text
from tests.fakes.telegram.keyboards import inline_markup
from tests.fakes.telegram.limits import FloodLimits
from tests.fakes.telegram.wire import (
    JSON,
    NOT_MODIFIED,
    QUERY_INVALID,
    ApiError,
    ChatId,
    chat_key,
    int_param,
)


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent; ``message`` is the Message object returned for it."""

    chat_id: ChatId
    message_id: int
    text: str
    reply_markup: JSON | None
    parse_mode: str | None
    at: float
    message: JSON


@dataclass(frozen=True)
class Edit:
    """An accepted editMessageText call."""

    chat_id: ChatId
    message_id: int
    text: str
    reply_markup: JSON | None
    parse_mode: str | None
    at: float


@dataclass(frozen=True)
class CallbackAnswer:
    """An accepted answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    at: float


class BotMessages:
    """The four message methods over ``chats``; see the module docstring."""

    def __init__(
        self,
        chats: Chats,
        *,
        bot_user: JSON,
        limits: FloodLimits,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.chats = chats
        self.bot_user = bot_user
        self.limits = limits
        self._clock = clock
        self._wall_clock = wall_clock
        self.sent: list[SentMessage] = []
        self.edits: list[Edit] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.deleted: list[tuple[ChatId, int]] = []

    def _admit(self, chat_id: ChatId) -> float:
        """Apply the flood limits to one message for ``chat_id``; return the time."""
        now = self._clock()
        self.limits.admit(chat_id, now)
        return now

    def send_message(self, params: JSON) -> JSON:
        chat_id = chat_key(params.get("chat_id"))
        self.chats.check(chat_id)
        text, visible, entities = message_text(params)
        markup = inline_markup(params.get("reply_markup"))
        at = self._admit(chat_id)
        chat = self.chats.chat(chat_id)
        message: JSON = {
            "message_id": self.chats.new_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "chat": chat,
            "date": int(self._wall_clock()),
            "text": visible,
        }
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        key = (chat["id"], message["message_id"])
        self.chats.messages[key] = message
        self.chats.bot_messages.add(key)
        parse_mode = params.get("parse_mode")
        self.sent.append(
            SentMessage(
                chat_id=chat_id,
                message_id=message["message_id"],
                text=text,
                reply_markup=markup,
                parse_mode=parse_mode if isinstance(parse_mode, str) else None,
                at=at,
                message=copy.deepcopy(message),
            )
        )
        return copy.deepcopy(message)

    def edit_message_text(self, params: JSON) -> JSON:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = chat_key(params.get("chat_id"))
        self.chats.check(chat_id)
        message_id = int_param(params, "message_id")
        text, visible, entities = message_text(params)
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = inline_markup(params.get("reply_markup"))
        key = (chat_id, message_id)
        current = self.chats.messages.get(key)
        if current is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if key not in self.chats.bot_messages:
            raise ApiError(400, "Bad Request: message can't be edited")
        if (
            current["text"] == visible
            and current.get("entities") == entities
            and current.get("reply_markup") == markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        at = self._admit(chat_id)
        edited = {k: v for k, v in current.items() if k not in {"entities", "reply_markup"}}
        edited.update(text=visible, edit_date=int(self._wall_clock()))
        if entities:
            edited["entities"] = entities
        if markup:
            edited["reply_markup"] = markup
        self.chats.messages[key] = edited
        parse_mode = params.get("parse_mode")
        self.edits.append(
            Edit(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                reply_markup=markup,
                parse_mode=parse_mode if isinstance(parse_mode, str) else None,
                at=at,
            )
        )
        return copy.deepcopy(edited)

    def delete_message(self, params: JSON) -> bool:
        chat_id = chat_key(params.get("chat_id"))
        self.chats.check(chat_id)
        key = (chat_id, int_param(params, "message_id"))
        if self.chats.messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self.chats.bot_messages.discard(key)
        self.deleted.append(key)
        return True

    def answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self.chats.callback_queries.get(query_id, True):  # unknown, or answered already
            raise ApiError(400, QUERY_INVALID)
        self.chats.callback_queries[query_id] = True
        text, url = params.get("text"), params.get("url")
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                text=text if isinstance(text, str) else None,
                show_alert=params.get("show_alert") is True,
                url=url if isinstance(url, str) else None,
                at=self._clock(),
            )
        )
        return True
