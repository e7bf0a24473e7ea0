"""``FakeTelegram``: the fake Bot API server a test starts, drives and reads.

The facade over the parts in this package: it owns the one lock (a condition) they all
share, wires them together (the router's method table names every Bot API method the
fake answers), and offers tests their controls (failures, refusing chats, user
messages, button presses), what the bot did, and ``wait_for``. The contract is in the
package docstring.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tests.fakes.telegram.chats import Chats
from tests.fakes.telegram.commands import CommandLists, get_my_commands, set_my_commands
from tests.fakes.telegram.failures import forced_error
from tests.fakes.telegram.limits import FloodLimits
from tests.fakes.telegram.messages import BotMessages, SentMessage
from tests.fakes.telegram.router import Router
from tests.fakes.telegram.server import Listener
from tests.fakes.telegram.updates import UpdateQueue
from tests.fakes.telegram.webhook import Webhook
from tests.fakes.telegram.wire import (
    CONFLICT_WEBHOOK,
    JSON,
    ApiError,
    ApiRequest,
    ChatId,
)
from tests.waiting import STALL_SECONDS

_T = TypeVar("_T")

_RECHECK = 0.05  # seconds between checks of a wait_for predicate when nothing here changes


class FakeTelegram:
    """The fake server and its state. Thread-safe; see the package docstring."""

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
        self._clock = clock
        self._wall_clock = wall_clock
        self._limits = FloodLimits(
            enforce=enforce_limits,
            global_per_second=global_per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_minute=per_group_per_minute,
            tolerance=tolerance,
        )
        # One lock for the whole fake: every part below shares it, and wait_for wakes
        # on its notifications.
        self._cond = threading.Condition(threading.RLock())
        self.commands: CommandLists = {}
        self._chats = Chats()
        self._messages = BotMessages(
            self._chats,
            bot_user=self.bot_user,
            limits=self._limits,
            clock=clock,
            wall_clock=wall_clock,
        )
        # What the bot did, for tests to read (the lists the message methods append to).
        self.sent = self._messages.sent
        self.edits = self._messages.edits
        self.callback_answers = self._messages.callback_answers
        self.deleted = self._messages.deleted
        self._updates = UpdateQueue(self._cond)
        # The router is made below, once every method it routes to exists.
        self._listener = Listener(self._cond, lambda *request: self._router.dispatch(*request))
        self._webhook = Webhook(self._cond, self._updates, self._listener, wall_clock)
        self._router = Router(
            token=token,
            methods={
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._webhook.set,
                "deleteWebhook": self._webhook.delete,
                "getWebhookInfo": self._webhook.info,
                "setMyCommands": lambda params: set_my_commands(self.commands, params),
                "getMyCommands": lambda params: get_my_commands(self.commands, params),
                "sendMessage": self._messages.send_message,
                "editMessageText": self._messages.edit_message_text,
                "answerCallbackQuery": self._messages.answer_callback_query,
                "deleteMessage": self._messages.delete_message,
            },
            cond=self._cond,
            clock=clock,
            generation=lambda: self._listener.generation,
        )
        self.requests = self._router.requests  # every request received, oldest first

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._listener.port

    @property
    def base_url(self) -> str:
        """What to pass as python-telegram-bot's ``base_url`` (the token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> None:
        """Listen on a free loopback port (kept for the lifetime of this object)."""
        with self._cond:
            self._listener.stopping = False
            self._listener.listen()
            if self._webhook.url:
                self._webhook.start_delivery()

    def stop(self) -> None:
        """Close every socket and stop every thread; state stays readable."""
        self.down()
        with self._cond:
            self._listener.stopping = True
            self._cond.notify_all()
            webhook_thread = self._webhook.take_thread()
        if webhook_thread is not None:
            webhook_thread.join()

    def down(self) -> None:
        """Refuse connections: close the listening socket and all open connections.

        Long polls in flight are dropped without an answer, as a network failure would.
        """
        self._listener.down()

    def up(self) -> None:
        """Accept connections again, on the same port as before."""
        with self._cond:
            self._listener.listen()

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
        canonical = self._router.canonical(method)
        error = forced_error(
            status,
            retry_after,
            description=description,
            migrate_to_chat_id=migrate_to_chat_id,
        )
        with self._cond:
            self._router.failures.add(canonical, error, times)

    def block_chat(self, chat_id: ChatId) -> None:
        """From now on answer 403 for this chat (user blocked the bot / bot was kicked)."""
        with self._cond:
            self._chats.blocked.add(chat_id)

    def unblock_chat(self, chat_id: ChatId) -> None:
        with self._cond:
            self._chats.blocked.discard(chat_id)

    def forget_chat(self, chat_id: ChatId) -> None:
        """From now on answer 400 "chat not found" for this chat."""
        with self._cond:
            self._chats.forgotten.add(chat_id)

    def migrate_chat(self, old_chat_id: ChatId, new_chat_id: int) -> None:
        """The group became a supergroup: calls for the old id answer 400 with the new id."""
        with self._cond:
            self._chats.migrated[old_chat_id] = new_chat_id

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
            message = self._chats.user_message(
                user_id,
                text,
                chat_id,
                first_name=first_name,
                username=username,
                date=int(self._wall_clock()),
            )
            return self._updates.enqueue("message", message)

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
            query = self._chats.button_press(user_id, key, data)
            self._updates.enqueue("callback_query", query)
            return str(query["id"])

    def wait_for(self, predicate: Callable[[], _T], timeout: float | None = None) -> _T:
        """Return the predicate's first truthy value or raise TimeoutError.

        It is re-checked on every change to the fake's state, and every 50 ms for
        predicates over other state (a database, a worker's progress). ``timeout``
        defaults to the suite's one allowance, ``tests.waiting.STALL_SECONDS``: it only
        bounds how long a broken test takes to fail.
        """
        if timeout is None:
            timeout = STALL_SECONDS
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

    @property
    def enforce_limits(self) -> bool:
        return self._limits.enforce

    @enforce_limits.setter
    def enforce_limits(self, value: bool) -> None:
        self._limits.enforce = value

    @property
    def tolerance(self) -> float:
        return self._limits.tolerance

    @tolerance.setter
    def tolerance(self, value: float) -> None:
        self._limits.tolerance = value

    def forget_sent(self) -> None:
        """Forget the messages sent and the 429s counted (a bench repeating a burst);
        the limits' windows stay."""
        with self._cond:
            self.sent.clear()
            self._limits.rate_limited = 0

    @property
    def rate_limited(self) -> int:
        """Calls answered 429 by the flood limits (forced failures not counted)."""
        return self._limits.rate_limited

    @property
    def connections_accepted(self) -> int:
        return self._listener.connections_accepted

    def messages_in(self, chat_id: ChatId) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, oldest first."""
        with self._cond:
            return [m for m in self.sent if m.chat_id == chat_id]

    def message(self, chat_id: ChatId, message_id: int) -> JSON | None:
        """The Message object as it is now (after edits); None once deleted."""
        with self._cond:
            current = self._chats.messages.get((chat_id, message_id))
            return copy.deepcopy(current) if current is not None else None

    def calls(self, method: str) -> list[ApiRequest]:
        """Requests received for ``method``, oldest first."""
        with self._cond:
            return [r for r in self.requests if r.method == method]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by an offset (nor delivered to a webhook)."""
        with self._cond:
            return self._updates.pending()

    # -- Bot API methods kept here -----------------------------------------------------

    def _get_me(self, params: JSON) -> JSON:
        return dict(self.bot_user)

    def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook.url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        connection = self._router.connection
        return self._updates.poll(params, listener=self._listener, connection=connection)
