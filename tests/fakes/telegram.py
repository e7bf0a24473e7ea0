"""A fake Telegram Bot API server on loopback, speaking the real wire protocol.

Contract
--------
``FakeTelegram`` is a real HTTP/1.1 server on ``127.0.0.1`` (port chosen by the OS) run
in daemon threads. Point python-telegram-bot at it with ``Bot(token,
base_url=tg.base_url)``; requests then arrive at ``/bot<TOKEN>/<method>``.

* Requests: ``POST`` (or ``GET`` with a query string); form-encoded, JSON or multipart
  bodies. As in the Bot API, every non-string parameter travels JSON-encoded in a form
  field and is decoded here (``chat_id``, ``reply_markup``, ``offset`` ...).
* Replies: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
  "description": "...", "parameters"?: {...}}`` with the same HTTP status.
* Connections stay alive between requests, as with api.telegram.org; a client that
  wrongly reuses a connection across event loops fails here as it would in production.
* getUpdates long-polls (``timeout``), answers as soon as an update is queued, forgets
  updates below ``offset`` and keeps ``allowed_updates`` until changed. A new call
  terminates the one still waiting, which gets 409 Conflict, as Telegram does when two
  pollers share a token; a waiting call whose client hung up is forgotten instead, so a
  poller that cancels its poll and confirms its offset never meets a Conflict.
* Methods: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, setMyCommands,
  getMyCommands, sendMessage, editMessageText, answerCallbackQuery, deleteMessage.
  Method names are case-insensitive, as in the Bot API. Anything else answers 404.
* Flood limits (``enforce_limits``, times from ``clock``): accepted sendMessage and
  editMessageText calls count against a sliding 1 s window overall
  (``global_per_second``), a spacing of ``1 / per_chat_per_second`` seconds per private
  chat, and a sliding 60 s window per group chat (``per_group_per_minute``; negative
  ids and ``@names`` are groups). An excess call is answered 429 with
  ``parameters.retry_after`` (whole seconds until it would fit) and counted in
  ``rate_limited``; it uses up no budget. ``tolerance`` (seconds, default 0 = exact)
  shortens every window to absorb network jitter, like Telegram's tolerance of short
  bursts. Note that an alert and its edit within a second in one chat exceed the
  exact per-chat limit.
* ``wait_for(predicate)`` re-checks on every state change (and every 50 ms), so tests
  wait without fixed sleeps.

Where it departs from Telegram, on purpose
------------------------------------------
* ``down()`` really closes the listening socket and every open connection, so clients
  see a connection error (refused, or reset on a kept-alive connection); ``up()``
  listens again on the same port. All state survives.
* setWebhook accepts ``http://`` URLs (tests run without TLS); updates are then POSTed
  to that URL with ``X-Telegram-Bot-Api-Secret-Token``, retried until a 2xx.
* Only ``parse_mode=HTML`` is parsed (tags, entities, "can't parse entities" errors);
  Markdown text is stored as sent.
* Button URLs are checked for their scheme only; Telegram also rejects hosts such as
  ``localhost``.
"""

from __future__ import annotations

import contextlib
import copy
import html
import http.client
import itertools
import json
import math
import re
import select
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlsplit

JSON = dict[str, Any]
ChatId = int | str
_T = TypeVar("_T")

MAX_TEXT_LENGTH = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_DATA = 64  # bytes; telegram.constants.InlineKeyboardButtonLimit
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
_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_CHAR_REF = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
_HANGUP_CHECK = 0.05  # seconds between checks that a long-polling client is still there
_RECHECK = 0.05  # seconds between checks of a wait_for predicate when nothing here changes
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""")


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


class _DroppedError(Exception):
    """The server went down while a request was in flight: close without answering."""


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


@dataclass
class ApiRequest:
    """A request as received; ``status`` is set once answered (None: dropped unanswered)."""

    method: str
    params: JSON
    at: float
    status: int | None = None


@dataclass
class _Failure:
    error: ApiError
    remaining: int


class _Window:
    """At most ``capacity`` events per sliding window of ``seconds``, per key."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self._stamps: dict[object, deque[float]] = {}

    def wait_needed(self, key: object, now: float, tolerance: float) -> float:
        """Seconds until one more event for ``key`` fits; 0.0 when it fits now."""
        span = max(self.seconds - tolerance, 0.0)
        stamps = self._stamps.get(key)
        if not stamps:
            return 0.0
        while stamps and stamps[0] <= now - span:
            stamps.popleft()
        if len(stamps) < self.capacity:
            return 0.0
        return stamps[len(stamps) - self.capacity] + span - now

    def record(self, key: object, now: float) -> None:
        self._stamps.setdefault(key, deque()).append(now)


def _utf16_len(text: str) -> int:
    # Telegram measures entity offsets and lengths in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def _entity_error(text: str, index: int, what: str) -> ApiError:
    offset = len(text[:index].encode())
    return ApiError(400, f"Bad Request: can't parse entities: {what} at byte offset {offset}")


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Split Telegram-HTML into visible text and entities, or raise the 400 Telegram gives.

    Every ``<`` must open or close a supported tag and tags must nest; ``&lt; &gt; &amp;
    &quot;`` and numeric references are decoded.
    """
    out: list[str] = []
    position = 0  # in UTF-16 units of the visible text
    open_tags: list[tuple[str, int, JSON]] = []
    entities: list[JSON] = []
    i = 0
    while i < len(text):
        if text[i] == "<":
            tag = _TAG.match(text, i)
            if tag is None:
                raise _entity_error(text, i, "Unexpected end of name token")
            closing, name, attrs = tag.group(1), tag.group(2).lower(), tag.group(3)
            if name not in _HTML_ENTITY_TYPES:
                raise _entity_error(text, i, f'Unsupported start tag "{name}"')
            if closing:
                if not open_tags or open_tags[-1][0] != name:
                    expected = open_tags[-1][0] if open_tags else ""
                    raise _entity_error(
                        text, i, f'Unmatched end tag, expected "</{expected}>", found "</{name}>"'
                    )
                _, start, extra = open_tags.pop()
                if position > start:  # Telegram drops empty entities
                    entity = {"type": _HTML_ENTITY_TYPES[name], "offset": start}
                    entities.append({**entity, "length": position - start, **extra})
            else:
                link: JSON = {}
                if name == "a":
                    href = _HREF.search(attrs)
                    link["url"] = html.unescape(href.group(1) or href.group(2)) if href else ""
                open_tags.append((name, position, link))
            i = tag.end()
            continue
        ref = _CHAR_REF.match(text, i) if text[i] == "&" else None
        piece = html.unescape(ref.group(0)) if ref else text[i]
        i = ref.end() if ref else i + 1
        out.append(piece)
        position += _utf16_len(piece)
    if open_tags:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start "
            f'tag "{open_tags[-1][0]}"',
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _inline_markup(markup: object) -> JSON | None:
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


def _decode_params(content_type: str, body: bytes, query: str) -> JSON:
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


def _client_gone(connection: socket.socket | None) -> bool:
    """True once the client has closed ``connection`` (readable, yet nothing to read)."""
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _chat_key(value: object) -> ChatId:
    if isinstance(value, bool) or value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if isinstance(value, str) and value.startswith("@"):
        return value
    raise ApiError(400, CHAT_NOT_FOUND)


def _is_private(chat_id: ChatId) -> bool:
    return isinstance(chat_id, int) and chat_id > 0


def _int_param(params: JSON, name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(400, f"Bad Request: {name} is empty")
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(400, f"Bad Request: invalid {name} specified") from exc


class FakeTelegram:
    """The fake server and its state. Thread-safe; see the module docstring."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        bot_id: int | None = None,
        bot_username: str = "fenghuo_test_bot",
        bot_first_name: str = "Fenghuo",
        enforce_limits: bool = True,
        global_per_second: int = 30,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: int = 20,
        tolerance: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": bot_id if bot_id is not None else (int(head) if head.isdigit() else 1),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.enforce_limits = enforce_limits
        self.tolerance = tolerance
        self._clock = clock
        self._wall_clock = wall_clock
        self._overall = _Window(global_per_second, 1.0)
        self._per_chat = _Window(1, 1.0 / per_chat_per_second)
        self._per_group = _Window(per_group_per_minute, 60.0)

        self._cond = threading.Condition(threading.RLock())
        self._local = threading.local()  # the connection a handler thread is serving
        self.sent: list[SentMessage] = []
        self.edits: list[Edit] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.deleted: list[tuple[ChatId, int]] = []
        self.requests: list[ApiRequest] = []
        self.rate_limited = 0
        self.connections_accepted = 0
        self.commands: dict[tuple[str, str], list[JSON]] = {}

        self._methods: dict[str, tuple[str, Callable[[JSON], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "answerCallbackQuery": self._answer_callback_query,
                "deleteMessage": self._delete_message,
            }.items()
        }
        self._failures: dict[str, deque[_Failure]] = {}
        self._blocked: set[ChatId] = set()
        self._forgotten: set[ChatId] = set()
        self._migrated: dict[ChatId, int] = {}
        self._users: dict[int, JSON] = {}
        self._messages: dict[tuple[ChatId, int], JSON] = {}
        self._bot_messages: set[tuple[ChatId, int]] = set()
        self._last_message_id: dict[ChatId, int] = {}
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._ids = itertools.count(1)
        self._updates: list[JSON] = []
        self._next_update_id = 100_000
        self._allowed_updates: list[str] = []
        self._poll_ticket = 0
        self._active_poll: int | None = None
        self._webhook: JSON = {"url": "", "secret_token": None, "max_connections": 40}
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_thread: threading.Thread | None = None

        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._port = 0
        self._down = False
        self._generation = 0
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """What to pass as python-telegram-bot's ``base_url`` (the token is appended)."""
        return f"http://127.0.0.1:{self._port}/bot"

    def start(self) -> None:
        """Listen on a free loopback port (kept for the lifetime of this object)."""
        with self._cond:
            self._stopping = False
            self._listen()
            if self._webhook["url"]:
                self._start_webhook_delivery()

    def stop(self) -> None:
        """Close every socket and stop every thread; state stays readable."""
        self.down()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            webhook_thread, self._webhook_thread = self._webhook_thread, None
        if webhook_thread is not None:
            webhook_thread.join()

    def down(self) -> None:
        """Refuse connections: close the listening socket and all open connections.

        Long polls in flight are dropped without an answer, as a network failure would.
        """
        with self._cond:
            server, thread = self._server, self._server_thread
            if server is None or thread is None:
                return
            self._down = True
            self._generation += 1
            self._server = self._server_thread = None
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        thread.join()
        with self._cond:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by the peer
                    connection.shutdown(socket.SHUT_RDWR)

    def up(self) -> None:
        """Accept connections again, on the same port as before."""
        with self._cond:
            self._listen()

    def _listen(self) -> None:
        if self._server is not None:
            return
        server = _Server(("127.0.0.1", self._port), self)
        self._port = server.server_address[1]
        self._server = server
        self._down = False
        # A short poll interval keeps down() and stop() quick.
        self._server_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fake-telegram-{self._port}",
            daemon=True,
        )
        self._server_thread.start()
        self._cond.notify_all()

    # -- controls for tests ------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 3,
        *,
        times: int = 1,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error.

        429 carries ``parameters.retry_after``; 403 is "bot was blocked by the user"; 400
        is "chat not found", or "group chat was upgraded" with ``migrate_to_chat_id``.
        Forced failures are not counted in ``rate_limited``.
        """
        canonical = self._canonical(method)
        parameters: JSON | None = None
        if migrate_to_chat_id is not None:
            status, default = 400, MIGRATED
            parameters = {"migrate_to_chat_id": migrate_to_chat_id}
        elif status == 429:
            default = f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        elif status == 403:
            default = BLOCKED
        elif status == 400:
            default = CHAT_NOT_FOUND
        elif status == 409:
            default = CONFLICT_POLL
        else:
            default = HTTPStatus(status).phrase
        error = ApiError(status, description or default, parameters)
        with self._cond:
            self._failures.setdefault(canonical, deque()).append(_Failure(error, times))

    def block_chat(self, chat_id: ChatId) -> None:
        """From now on answer 403 for this chat (user blocked the bot / bot was kicked)."""
        with self._cond:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: ChatId) -> None:
        with self._cond:
            self._blocked.discard(chat_id)

    def forget_chat(self, chat_id: ChatId) -> None:
        """From now on answer 400 "chat not found" for this chat."""
        with self._cond:
            self._forgotten.add(chat_id)

    def migrate_chat(self, old_chat_id: ChatId, new_chat_id: int) -> None:
        """The group became a supergroup: calls for the old id answer 400 with the new id."""
        with self._cond:
            self._migrated[old_chat_id] = new_chat_id

    def send_user_message(
        self,
        user_id: int,
        text: str,
        chat_id: ChatId | None = None,
        *,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """Queue a ``message`` update from a user; return the update.

        Text starting with "/" gets a ``bot_command`` entity over its first word, as
        Telegram sends it (python-telegram-bot's CommandHandler needs it).
        """
        with self._cond:
            user = self._user(user_id, first_name, username)
            chat = self._chat(user_id if chat_id is None else chat_id)
            message: JSON = {
                "message_id": self._new_message_id(chat["id"]),
                "from": user,
                "chat": chat,
                "date": int(self._wall_clock()),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
                ]
            self._messages[(chat["id"], message["message_id"])] = message
            return self._enqueue("message", message)

    def press_button(
        self, user_id: int, message: SentMessage | Mapping[str, Any], data: str
    ) -> str:
        """Queue a ``callback_query`` update for a button under a bot message; return its id.

        The update carries the message as it is now (after any edits). ``data`` is not
        checked against the keyboard, so tests can forge presses.
        """
        if isinstance(message, SentMessage):
            key: tuple[ChatId, int] = (message.chat_id, message.message_id)
        else:
            key = (message["chat"]["id"], message["message_id"])
        with self._cond:
            current = self._messages.get(key)
            if current is None:
                raise ValueError(f"no message {key[1]} in chat {key[0]}")
            query_id = str(4_000_000_000_000_000 + next(self._ids))
            self._callback_queries[query_id] = False
            self._enqueue(
                "callback_query",
                {
                    "id": query_id,
                    "from": self._user(user_id, None, None),
                    "chat_instance": str(abs(hash(key[0])) % 10**18),
                    "message": copy.deepcopy(current),
                    "data": data,
                },
            )
            return query_id

    def wait_for(self, predicate: Callable[[], _T], timeout: float = 5.0) -> _T:
        """Return the predicate's first truthy value or raise TimeoutError.

        It is re-checked on every change to the fake's state, and every 50 ms for
        predicates over other state (a database, a worker's progress).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self._cond.wait(min(remaining, _RECHECK))

    # -- state for tests ---------------------------------------------------------------

    def messages_in(self, chat_id: ChatId) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, oldest first."""
        with self._cond:
            return [m for m in self.sent if m.chat_id == chat_id]

    def message(self, chat_id: ChatId, message_id: int) -> JSON | None:
        """The Message object as it is now (after edits); None once deleted."""
        with self._cond:
            current = self._messages.get((chat_id, message_id))
            return copy.deepcopy(current) if current is not None else None

    def calls(self, method: str) -> list[ApiRequest]:
        """Requests received for ``method``, oldest first."""
        with self._cond:
            return [r for r in self.requests if r.method == method]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by an offset (nor delivered to a webhook)."""
        with self._cond:
            return list(self._updates)

    # -- request handling --------------------------------------------------------------

    def _canonical(self, method: str) -> str:
        entry = self._methods.get(method.lower())
        if entry is None:
            raise ValueError(f"the fake does not implement {method!r}")
        return entry[0]

    def _dispatch(
        self,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        connection: socket.socket | None = None,
    ) -> tuple[int, JSON]:
        """Answer one request: (HTTP status, JSON body); _DroppedError means no answer."""
        self._local.connection = connection
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, name = match.groups()
        if token != self.token:
            # Telegram: 401 for a well-formed but unknown token, 404 for a malformed one.
            status = 401 if re.fullmatch(r"\d+:[\w-]+", token) else 404
            return status, ApiError(status, HTTPStatus(status).phrase).payload()
        entry = self._methods.get(name.lower())
        with self._cond:
            generation = self._generation
            record = ApiRequest(entry[0] if entry else name, {}, self._clock())
            self.requests.append(record)
            try:
                record.params = _decode_params(content_type, body, query)
                if entry is None:
                    raise ApiError(404, "Not Found")
                self._raise_forced(entry[0])
                status, payload = 200, {"ok": True, "result": entry[1](record.params)}
            except ApiError as error:
                status, payload = error.status, error.payload()
            if generation != self._generation:
                raise _DroppedError
            record.status = status
            self._cond.notify_all()
            return status, payload

    def _raise_forced(self, method: str) -> None:
        queue = self._failures.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        raise failure.error

    def _check_chat(self, chat_id: ChatId) -> None:
        if chat_id in self._migrated:
            raise ApiError(400, MIGRATED, {"migrate_to_chat_id": self._migrated[chat_id]})
        if chat_id in self._forgotten:
            raise ApiError(400, CHAT_NOT_FOUND)
        if chat_id in self._blocked:
            raise ApiError(403, BLOCKED if _is_private(chat_id) else KICKED)

    def _admit(self, chat_id: ChatId) -> float:
        """Apply the flood limits to one message for ``chat_id``; return the time."""
        now = self._clock()
        if not self.enforce_limits:
            return now
        chat_window = self._per_chat if _is_private(chat_id) else self._per_group
        wait = max(
            self._overall.wait_needed(None, now, self.tolerance),
            chat_window.wait_needed(chat_id, now, self.tolerance),
        )
        if wait > 0:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        self._overall.record(None, now)
        chat_window.record(chat_id, now)
        return now

    def _text(self, params: JSON) -> tuple[str, str, list[JSON] | None]:
        """(as sent, visible text, entities) after Telegram's checks on message text."""
        raw = params.get("text")
        text = "" if raw is None else str(raw)
        parse_mode = params.get("parse_mode")
        entities = params.get("entities")
        if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
            visible, entities = parse_html(text)
        else:
            visible = text
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text, visible, entities if isinstance(entities, list) and entities else None

    # -- Bot API methods ---------------------------------------------------------------

    def _get_me(self, params: JSON) -> JSON:
        return dict(self.bot_user)

    def _send_message(self, params: JSON) -> JSON:
        chat_id = _chat_key(params.get("chat_id"))
        self._check_chat(chat_id)
        text, visible, entities = self._text(params)
        markup = _inline_markup(params.get("reply_markup"))
        at = self._admit(chat_id)
        chat = self._chat(chat_id)
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
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
        self._messages[key] = message
        self._bot_messages.add(key)
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

    def _edit_message_text(self, params: JSON) -> JSON:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = _chat_key(params.get("chat_id"))
        self._check_chat(chat_id)
        message_id = _int_param(params, "message_id")
        text, visible, entities = self._text(params)
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = _inline_markup(params.get("reply_markup"))
        key = (chat_id, message_id)
        current = self._messages.get(key)
        if current is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if key not in self._bot_messages:
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
        self._messages[key] = edited
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

    def _delete_message(self, params: JSON) -> bool:
        chat_id = _chat_key(params.get("chat_id"))
        self._check_chat(chat_id)
        key = (chat_id, _int_param(params, "message_id"))
        if self._messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self._bot_messages.discard(key)
        self.deleted.append(key)
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self._callback_queries.get(query_id, True):  # unknown, or answered already
            raise ApiError(400, QUERY_INVALID)
        self._callback_queries[query_id] = True
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

    def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook["url"]:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = params.get("timeout", 0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
            raise ApiError(400, "Bad Request: invalid timeout specified")
        self._set_allowed_updates(params)
        # Offsets confirm updates: everything before them is forgotten.
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_ticket += 1
        ticket = self._active_poll = self._poll_ticket
        generation = self._generation
        connection = getattr(self._local, "connection", None)
        self._cond.notify_all()  # a waiting older call is now terminated
        deadline = time.monotonic() + float(timeout)
        try:
            while True:
                if self._generation != generation or self._stopping:
                    raise _DroppedError
                if _client_gone(connection):
                    # Forget a poll whose client hung up (a cancelled poller) before
                    # anything else, so it is never "terminated by" its successor.
                    raise _DroppedError
                if self._active_poll != ticket:
                    raise ApiError(409, CONFLICT_POLL)
                ready = self._deliverable()
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready[:limit]
                self._cond.wait(min(remaining, _HANGUP_CHECK))
        finally:
            if self._active_poll == ticket:
                self._active_poll = None

    def _deliverable(self) -> list[JSON]:
        """Queued updates of the allowed types; the others are forgotten, as by Telegram."""
        if self._allowed_updates:
            allowed = set(self._allowed_updates)
            self._updates = [u for u in self._updates if self._kind(u) in allowed]
        return copy.deepcopy(self._updates)

    @staticmethod
    def _kind(update: JSON) -> str:
        return next(k for k in update if k != "update_id")

    def _set_allowed_updates(self, params: JSON) -> None:
        allowed = params.get("allowed_updates")
        if allowed is None:
            return  # Telegram keeps the previous setting
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise ApiError(400, "Bad Request: can't parse allowed updates")
        self._allowed_updates = list(allowed)

    def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: bad webhook: URL must be specified")
        if url and urlsplit(url).scheme not in {"http", "https"}:
            raise ApiError(400, "Bad Request: bad webhook: Unsupported URL protocol")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self._set_allowed_updates(params)
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": _int_param(params, "max_connections", 40),
        }
        self._webhook_error = None
        if url:
            self._start_webhook_delivery()
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        self._webhook = {"url": "", "secret_token": None, "max_connections": 40}
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook["url"]:
            info["max_connections"] = self._webhook["max_connections"]
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description is empty")
        self.commands[self._commands_key(params)] = commands
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        return list(self.commands.get(self._commands_key(params), []))

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    # -- internals (callers hold the lock) ---------------------------------------------

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> JSON:
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        )
        if first_name is not None:
            user["first_name"] = first_name
        if username is not None:
            user["username"] = username
        return dict(user)

    def _chat(self, chat_id: ChatId) -> JSON:
        if _is_private(chat_id):
            user = self._user(cast(int, chat_id), None, None)
            chat = {k: v for k, v in user.items() if k in {"id", "first_name", "username"}}
            return {**chat, "type": "private"}
        if isinstance(chat_id, str):
            return {"id": chat_id, "type": "channel", "title": chat_id.lstrip("@")}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def _new_message_id(self, chat_id: ChatId) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _enqueue(self, kind: str, payload: JSON) -> JSON:
        self._next_update_id += 1
        update = {"update_id": self._next_update_id, kind: payload}
        self._updates.append(update)
        self._cond.notify_all()
        return copy.deepcopy(update)

    def _register(self, connection: socket.socket) -> bool:
        with self._cond:
            if self._down:
                return False
            self._connections.add(connection)
            self.connections_accepted += 1
            return True

    def _unregister(self, connection: socket.socket) -> None:
        with self._cond:
            self._connections.discard(connection)

    def _start_webhook_delivery(self) -> None:
        if self._webhook_thread is None:
            self._webhook_thread = threading.Thread(
                target=self._deliver_to_webhook, name="fake-telegram-webhook", daemon=True
            )
            self._webhook_thread.start()

    def _deliver_to_webhook(self) -> None:
        """POST queued updates to the webhook one by one, in order, until stopped."""
        backoff = 0.05
        while True:
            with self._cond:
                while not self._stopping and (
                    self._down or not self._webhook["url"] or not self._deliverable()
                ):
                    self._cond.wait()
                if self._stopping:
                    return
                update = self._deliverable()[0]
                url, secret = self._webhook["url"], self._webhook["secret_token"]
            error = _post_update(url, secret, update)
            with self._cond:
                if error is None:
                    self._updates = [
                        u for u in self._updates if u["update_id"] != update["update_id"]
                    ]
                    backoff = 0.05
                    self._cond.notify_all()
                    continue
                self._webhook_error = (int(self._wall_clock()), error)
                self._cond.wait(backoff)
                backoff = min(backoff * 2, 1.0)


def _post_update(url: str, secret: str | None, update: JSON) -> str | None:
    """POST one update as Telegram does; None on a 2xx, else the error getWebhookInfo shows."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.netloc, timeout=10)
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    try:
        path = parts.path or "/"
        connection.request(
            "POST",
            f"{path}?{parts.query}" if parts.query else path,
            body=json.dumps(update).encode(),
            headers=headers,
        )
        response = connection.getresponse()
        response.read()
    except OSError as exc:
        return f"Connection failed: {exc}"
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return None
    return f"Wrong response from the webhook: {response.status} {response.reason}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeTelegram) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (a DNS lookup); not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away or down() cut the connection
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive between requests, as api.telegram.org does.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs hold every answer on a kept-alive connection back by about 40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self._registered = self._fake._register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._fake._unregister(self.connection)

    @property
    def _fake(self) -> FakeTelegram:
        return cast(_Server, self.server).fake

    def handle_one_request(self) -> None:
        if not self._registered or self._fake._down:
            self.close_connection = True
            return
        super().handle_one_request()

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        try:
            status, payload = self._fake._dispatch(
                url.path, url.query, self.headers.get("Content-Type", ""), body, self.connection
            )
        except _DroppedError:
            self.close_connection = True
            return
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read tg.requests instead of a log on stderr
