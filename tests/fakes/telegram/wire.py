"""The Bot API's wire format as the fake reads and answers it.

A request names its method in the path and carries its parameters in the query string
and a form-encoded, JSON or multipart body; as in the Bot API, every non-string
parameter travels JSON-encoded in a form field and is decoded here. An answer is
``{"ok": true, "result": ...}`` or, for an :class:`ApiError`, ``{"ok": false,
"error_code": N, "description": "...", "parameters"?: {...}}`` with the same HTTP
status. The descriptions are Telegram's own.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

JSON = dict[str, Any]
ChatId = int | str

BLOCKED = "Forbidden: bot was blocked by the user"
KICKED = "Forbidden: bot was kicked from the group chat"
CHAT_NOT_FOUND = "Bad Request: chat not found"
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Parameters the Bot API takes as plain strings; every other form field is JSON.
_STRING_PARAMS = frozenset(
    {
        "text",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "inline_message_id",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
    }
)


class ApiError(Exception):
    """An error answer: HTTP status, Telegram description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class DroppedError(Exception):
    """The server went down while a request was in flight: close without answering."""


@dataclass
class ApiRequest:
    """A request as received; ``status`` is set once answered (None: dropped unanswered)."""

    method: str
    params: JSON
    at: float
    status: int | None = None


def decode_params(content_type: str, body: bytes, query: str) -> JSON:
    """Parameters from the query string and the body, non-string values JSON-decoded."""
    raw: JSON = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    try:
        if media_type == "application/json" and body:
            loaded = json.loads(body)
            if not isinstance(loaded, dict):
                raise ApiError(400, "Bad Request: request body must be a JSON object")
            raw.update(loaded)
        elif media_type == "multipart/form-data":
            head = f"Content-Type: {content_type}\r\n\r\n".encode()
            parsed = BytesParser(policy=policy.HTTP).parsebytes(head + body)
            for part in parsed.iter_parts():
                name = part.get_param("name", header="content-disposition")
                content = part.get_payload(decode=True)  # bytes; fields are UTF-8
                if isinstance(name, str) and isinstance(content, bytes):
                    raw[name] = content.decode()
        elif body:
            raw.update(parse_qsl(body.decode(), keep_blank_values=True))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "Bad Request: can't parse request body") from exc
    params: JSON = {}
    for name, value in raw.items():
        if name not in _STRING_PARAMS and isinstance(value, str):
            # "@channelname" and other bare strings are not JSON and stay strings.
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        params[name] = value
    return params


def chat_key(value: object) -> ChatId:
    """A ``chat_id`` parameter as the fake files chats: an int, or an ``@name``."""
    if isinstance(value, bool) or value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if isinstance(value, str) and value.startswith("@"):
        return value
    raise ApiError(400, CHAT_NOT_FOUND)


def is_private(chat_id: ChatId) -> bool:
    return isinstance(chat_id, int) and chat_id > 0


def int_param(params: JSON, name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(400, f"Bad Request: {name} is empty")
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(400, f"Bad Request: invalid {name} specified") from exc
