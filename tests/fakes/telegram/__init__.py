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

Layout
------
``fake`` holds :class:`FakeTelegram`, the facade tests use; it wires together the
request format (``wire``), the routing of requests to methods (``router``), the HTTP
server (``server``), Telegram's checks on text (``entities``) and keyboards
(``keyboards``), the flood limits (``limits``), the users, chats and messages
(``chats``, ``messages``), the update queue and long polling (``updates``), the webhook
(``webhook``), the bot's command lists (``commands``) and the failures tests order
(``failures``).
"""

from __future__ import annotations

from tests.fakes.telegram.entities import MAX_TEXT_LENGTH, parse_html
from tests.fakes.telegram.fake import FakeTelegram
from tests.fakes.telegram.keyboards import MAX_CALLBACK_DATA
from tests.fakes.telegram.messages import CallbackAnswer, Edit, SentMessage
from tests.fakes.telegram.wire import (
    BLOCKED,
    CHAT_NOT_FOUND,
    CONFLICT_POLL,
    CONFLICT_WEBHOOK,
    JSON,
    KICKED,
    MIGRATED,
    NOT_MODIFIED,
    QUERY_INVALID,
    ApiError,
    ApiRequest,
    ChatId,
)

__all__ = [
    "BLOCKED",
    "CHAT_NOT_FOUND",
    "CONFLICT_POLL",
    "CONFLICT_WEBHOOK",
    "JSON",
    "KICKED",
    "MAX_CALLBACK_DATA",
    "MAX_TEXT_LENGTH",
    "MIGRATED",
    "NOT_MODIFIED",
    "QUERY_INVALID",
    "ApiError",
    "ApiRequest",
    "CallbackAnswer",
    "ChatId",
    "Edit",
    "FakeTelegram",
    "SentMessage",
    "parse_html",
]
