"""The fake's world: users, chats and the messages in them, and the chats it refuses.

Positive chat ids are private chats with the user of that id; negative ids are groups
(``-100…`` supergroups); ``@names`` are channels. A chat can be made to refuse the bot:
blocked (403), forgotten (400 "chat not found") or migrated to a supergroup (400 with
``migrate_to_chat_id``). Callers hold the fake's lock.
"""

from __future__ import annotations

import copy
import itertools
from typing import cast

from tests.fakes.telegram.entities import utf16_len
from tests.fakes.telegram.wire import (
    BLOCKED,
    CHAT_NOT_FOUND,
    JSON,
    KICKED,
    MIGRATED,
    ApiError,
    ChatId,
    is_private,
)


class Chats:
    """Users, chats, messages (as they are now) and callback queries; see the module."""

    def __init__(self) -> None:
        self.messages: dict[tuple[ChatId, int], JSON] = {}
        self.bot_messages: set[tuple[ChatId, int]] = set()
        self.callback_queries: dict[str, bool] = {}  # id -> answered
        self.blocked: set[ChatId] = set()
        self.forgotten: set[ChatId] = set()
        self.migrated: dict[ChatId, int] = {}
        self._users: dict[int, JSON] = {}
        self._last_message_id: dict[ChatId, int] = {}
        self._ids = itertools.count(1)

    def user(self, user_id: int, first_name: str | None, username: str | None) -> JSON:
        """The User object for ``user_id`` (made on first sight), with names updated."""
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        )
        if first_name is not None:
            user["first_name"] = first_name
        if username is not None:
            user["username"] = username
        return dict(user)

    def chat(self, chat_id: ChatId) -> JSON:
        """The Chat object for ``chat_id``."""
        if is_private(chat_id):
            user = self.user(cast(int, chat_id), None, None)
            chat = {k: v for k, v in user.items() if k in {"id", "first_name", "username"}}
            return {**chat, "type": "private"}
        if isinstance(chat_id, str):
            return {"id": chat_id, "type": "channel", "title": chat_id.lstrip("@")}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def new_message_id(self, chat_id: ChatId) -> int:
        """The next message id in ``chat_id`` (ids count per chat, as in Telegram)."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def new_callback_query(self) -> str:
        """The id of a new, unanswered callback query."""
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        self.callback_queries[query_id] = False
        return query_id

    def user_message(
        self,
        user_id: int,
        text: str,
        chat_id: ChatId | None,
        *,
        first_name: str | None,
        username: str | None,
        date: int,
    ) -> JSON:
        """A message from a user into ``chat_id`` (their private chat by default), kept
        here; a leading "/" word gets its ``bot_command`` entity, as Telegram sends it."""
        user = self.user(user_id, first_name, username)
        chat = self.chat(user_id if chat_id is None else chat_id)
        message: JSON = {
            "message_id": self.new_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": date,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def button_press(self, user_id: int, key: tuple[ChatId, int], data: str) -> JSON:
        """A callback query from a user's press under message ``key`` (as it is now)."""
        current = self.messages.get(key)
        if current is None:
            raise ValueError(f"no message {key[1]} in chat {key[0]}")
        return {
            "id": self.new_callback_query(),
            "from": self.user(user_id, None, None),
            "chat_instance": str(abs(hash(key[0])) % 10**18),
            "message": copy.deepcopy(current),
            "data": data,
        }

    def check(self, chat_id: ChatId) -> None:
        """Raise the error Telegram gives for a chat that refuses the bot."""
        if chat_id in self.migrated:
            raise ApiError(400, MIGRATED, {"migrate_to_chat_id": self.migrated[chat_id]})
        if chat_id in self.forgotten:
            raise ApiError(400, CHAT_NOT_FOUND)
        if chat_id in self.blocked:
            raise ApiError(403, BLOCKED if is_private(chat_id) else KICKED)
