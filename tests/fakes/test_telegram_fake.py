"""The fake Bot API server, driven by python-telegram-bot as the real channel will be."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram import FakeTelegram
from tests.waiting import STALL_SECONDS

TOKEN = "123:ABC"
LEADER = 1001
ACK_KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Acknowledge", callback_data="ack:7")]])
_T = TypeVar("_T")
# A long poll held far longer than any test takes: returning before it ends shows the
# poll was answered early, however slow the machine.
HOLD = max(10, int(STALL_SECONDS))


class ManualClock:
    """A monotonic clock the rate-limit tests move by hand, so they never sleep."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (PTBDeprecationWarning) as it builds every RetryAfter, which
    # warnings-as-errors would turn into the exception under test.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    # The flood limits have their own tests below, on a clock they move by hand.
    with FakeTelegram(token=TOKEN, enforce_limits=False) as fake:
        yield fake


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limited(clock: ManualClock) -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN, clock=clock) as fake:
        yield fake


def with_bot(tg: FakeTelegram, use: Callable[[Bot], Awaitable[_T]], token: str = TOKEN) -> _T:
    """Run ``use`` with an initialised Bot on a fresh event loop, then shut the Bot down."""

    async def main() -> _T:
        async with Bot(token, base_url=tg.base_url) as bot:
            return await use(bot)

    return asyncio.run(main())


def raw_post(
    tg: FakeTelegram, method: str, fields: dict[str, str], token: str = TOKEN
) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", tg.port, timeout=5)
    try:
        connection.request(
            "POST",
            f"/bot{token}/{method}",
            body=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


async def ignore(update: object, context: object) -> None:
    """A handler callback for tests that only ask whether a handler matches."""


def send_times(
    tg: FakeTelegram, chat_ids: list[int], then: Callable[[], object] = lambda: None
) -> list[str]:
    """Send one message to each chat in turn, calling ``then`` after each; "ok" or "429"."""

    async def use(bot: Bot) -> list[str]:
        outcomes = []
        for chat_id in chat_ids:
            try:
                await bot.send_message(chat_id, "alert")
                outcomes.append("ok")
            except RetryAfter:
                outcomes.append("429")
            then()
        return outcomes

    return with_bot(tg, use)


# -- protocol --------------------------------------------------------------------------


def test_it_answers_get_me_with_the_bot_user(tg: FakeTelegram) -> None:
    async def use(bot: Bot) -> tuple[int, str | None]:
        me = await bot.get_me()
        return me.id, me.username

    assert with_bot(tg, use) == (123, "fenghuo_test_bot")
    assert tg.base_url == f"http://127.0.0.1:{tg.port}/bot"


def test_it_answers_401_to_a_wrong_token(tg: FakeTelegram) -> None:
    assert raw_post(tg, "getMe", {}, token="123:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    with pytest.raises(InvalidToken):
        with_bot(tg, lambda bot: bot.get_me(), token="123:WRONG")


def test_it_answers_404_to_an_unknown_method(tg: FakeTelegram) -> None:
    status, body = raw_post(tg, "sendPigeon", {"chat_id": "1"})
    assert (status, body["ok"], body["error_code"]) == (404, False, 404)


def test_it_decodes_json_encoded_form_fields_and_keeps_strings_raw(tg: FakeTelegram) -> None:
    markup = {"inline_keyboard": [[{"text": "Ack", "callback_data": "ack:7"}]]}
    status, body = raw_post(
        tg, "sendMessage", {"chat_id": "-100123", "text": "123", "reply_markup": json.dumps(markup)}
    )
    assert status == 200 and body["ok"] is True
    assert tg.calls("sendMessage")[0].params == {
        "chat_id": -100123,
        "text": "123",
        "reply_markup": markup,
    }
    assert body["result"]["chat"] == {"id": -100123, "type": "supergroup", "title": "Group -100123"}


def test_it_keeps_a_connection_alive_between_requests(tg: FakeTelegram) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", tg.port, timeout=5)
    try:
        for _ in range(2):
            connection.request("POST", f"/bot{TOKEN}/getMe", body=b"")
            response = connection.getresponse()
            assert json.loads(response.read())["ok"] is True
            assert response.version == 11 and response.getheader("Connection") != "close"
    finally:
        connection.close()
    assert tg.connections_accepted == 1


# -- messages --------------------------------------------------------------------------


def test_it_records_a_sent_message_with_its_inline_keyboard(tg: FakeTelegram) -> None:
    async def use(bot: Bot) -> list[int]:
        first = await bot.send_message(LEADER, "Incident 7", reply_markup=ACK_KEYBOARD)
        assert first.reply_markup == ACK_KEYBOARD
        assert first.from_user is not None and first.from_user.id == bot.id
        second = await bot.send_message(LEADER, "Incident 8")
        other = await bot.send_message(2002, "Incident 7")
        return [first.message_id, second.message_id, other.message_id]

    assert with_bot(tg, use) == [1, 2, 1]
    sent = tg.messages_in(LEADER)[0]
    assert (sent.chat_id, sent.message_id, sent.text) == (LEADER, 1, "Incident 7")
    assert sent.reply_markup == {
        "inline_keyboard": [[{"text": "Acknowledge", "callback_data": "ack:7"}]]
    }


def test_it_refuses_an_empty_text(tg: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        with_bot(tg, lambda bot: bot.send_message(LEADER, " "))
    assert tg.sent == []


def test_it_refuses_a_text_over_4096_characters(tg: FakeTelegram) -> None:
    with_bot(tg, lambda bot: bot.send_message(LEADER, "x" * 4096))
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        with_bot(tg, lambda bot: bot.send_message(LEADER, "x" * 4097))


def test_it_refuses_callback_data_over_64_bytes(tg: FakeTelegram) -> None:
    # 22 three-byte characters: 22 characters, 66 bytes.
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="确" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7", reply_markup=keyboard))


def test_it_parses_html_into_entities_and_refuses_a_bare_angle_bracket(tg: FakeTelegram) -> None:
    message = with_bot(
        tg, lambda bot: bot.send_message(LEADER, "<b>特大</b> a &lt; b", parse_mode="HTML")
    )
    assert (message.text, message.text_html) == ("特大 a < b", "<b>特大</b> a &lt; b")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        with_bot(tg, lambda bot: bot.send_message(LEADER, "a < b", parse_mode="HTML"))


def test_it_edits_a_message_and_records_the_edit(tg: FakeTelegram) -> None:
    async def use(bot: Bot) -> dt.datetime | None:
        sent = await bot.send_message(LEADER, "Incident 7", reply_markup=ACK_KEYBOARD)
        edited = await bot.edit_message_text("Incident 7: acknowledged", LEADER, sent.message_id)
        assert not isinstance(edited, bool)
        return edited.edit_date

    assert with_bot(tg, use) is not None
    assert [(e.message_id, e.text, e.reply_markup) for e in tg.edits] == [
        (1, "Incident 7: acknowledged", None)
    ]
    current = tg.message(LEADER, 1)
    assert current is not None and "reply_markup" not in current  # the edit dropped the keys


def test_it_refuses_an_edit_that_changes_nothing(tg: FakeTelegram) -> None:
    async def use(bot: Bot) -> None:
        sent = await bot.send_message(LEADER, "Incident 7", reply_markup=ACK_KEYBOARD)
        await bot.edit_message_text(
            "Incident 7", LEADER, sent.message_id, reply_markup=ACK_KEYBOARD
        )

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        with_bot(tg, use)


def test_it_refuses_to_edit_a_message_it_never_sent(tg: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        with_bot(tg, lambda bot: bot.edit_message_text("x", LEADER, 99))


# -- updates ---------------------------------------------------------------------------


def test_it_delivers_a_command_and_a_button_press_as_updates(tg: FakeTelegram) -> None:
    with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7", reply_markup=ACK_KEYBOARD))
    tg.send_user_message(LEADER, "/ack 7", first_name="Li", username="li_lead")
    query_id = tg.press_button(LEADER, tg.sent[0], "ack:7")

    async def use(bot: Bot) -> tuple[tuple[Update, ...], tuple[Update, ...]]:
        updates = await bot.get_updates(timeout=5)
        handler: CommandHandler[Any, None] = CommandHandler("ack", ignore)
        assert handler.check_update(updates[0])  # the bot_command entity is right
        confirmed = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return updates, confirmed

    updates, after_confirming = with_bot(tg, use)
    command, press = updates
    assert command.message is not None and command.message.text == "/ack 7"
    assert command.effective_user is not None and command.effective_user.username == "li_lead"
    assert press.callback_query is not None
    assert (press.callback_query.id, press.callback_query.data) == (query_id, "ack:7")
    assert press.callback_query.message is not None
    assert press.callback_query.message.message_id == tg.sent[0].message_id
    assert after_confirming == ()


def test_it_serves_a_polling_application_from_command_to_button_press(tg: FakeTelegram) -> None:
    async def on_ack(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and context.args == ["7"]
        await update.effective_message.reply_text("Incident 7", reply_markup=ACK_KEYBOARD)

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Acknowledged")
        await update.callback_query.edit_message_text("Incident 7: acknowledged")

    async def main() -> None:
        app = Application.builder().token(TOKEN).base_url(tg.base_url).build()
        app.add_handler(CommandHandler("ack", on_ack))
        app.add_handler(CallbackQueryHandler(on_press, pattern=r"^ack:\d+$"))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(timeout=10)
            tg.send_user_message(LEADER, "/ack 7")
            await asyncio.to_thread(tg.wait_for, lambda: tg.sent)
            tg.press_button(LEADER, tg.sent[0], "ack:7")
            await asyncio.to_thread(tg.wait_for, lambda: tg.edits)
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    assert [a.text for a in tg.callback_answers] == ["Acknowledged"]
    assert [e.text for e in tg.edits] == ["Incident 7: acknowledged"]
    assert 409 not in [r.status for r in tg.calls("getUpdates")]  # a clean hand-over at stop


def test_it_returns_a_long_poll_as_soon_as_an_update_arrives(tg: FakeTelegram) -> None:
    async def use(bot: Bot) -> tuple[tuple[Update, ...], float]:
        polling = asyncio.create_task(bot.get_updates(timeout=HOLD))
        await asyncio.to_thread(tg.wait_for, lambda: tg.calls("getUpdates"))
        started = time.monotonic()
        tg.send_user_message(LEADER, "/incidents")  # while the poll is held
        return await polling, time.monotonic() - started

    updates, waited = with_bot(tg, use)
    assert len(updates) == 1 and waited < HOLD


def test_it_holds_an_empty_long_poll_for_its_timeout(tg: FakeTelegram) -> None:
    async def use(bot: Bot) -> tuple[tuple[Update, ...], float]:
        started = time.monotonic()
        updates = await bot.get_updates(timeout=1)
        return updates, time.monotonic() - started

    updates, waited = with_bot(tg, use)
    # Held for its second, and then let go (not held for ever).
    assert updates == () and 0.9 <= waited < 1 + STALL_SECONDS


def test_it_delivers_only_the_allowed_update_types(tg: FakeTelegram) -> None:
    with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7", reply_markup=ACK_KEYBOARD))
    tg.send_user_message(LEADER, "hello")
    tg.press_button(LEADER, tg.sent[0], "ack:7")
    updates = with_bot(tg, lambda bot: bot.get_updates(allowed_updates=["callback_query"]))
    assert [u.callback_query is not None for u in updates] == [True]


def test_it_answers_conflict_to_a_poll_terminated_by_a_second_poller(tg: FakeTelegram) -> None:
    async def main() -> tuple[Update, ...]:
        async with (
            Bot(TOKEN, base_url=tg.base_url) as first,
            Bot(TOKEN, base_url=tg.base_url) as second,
        ):
            waiting = asyncio.create_task(first.get_updates(timeout=10))
            await asyncio.to_thread(tg.wait_for, lambda: tg.calls("getUpdates"))
            newer = asyncio.create_task(second.get_updates(timeout=10))
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await waiting
            tg.send_user_message(LEADER, "/help")
            return await newer

    assert len(asyncio.run(main())) == 1


def test_it_records_one_answer_per_callback_query(tg: FakeTelegram) -> None:
    with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7", reply_markup=ACK_KEYBOARD))
    query_id = tg.press_button(LEADER, tg.sent[0], "ack:7")
    with_bot(tg, lambda bot: bot.answer_callback_query(query_id, text="Acknowledged"))
    assert [(a.callback_query_id, a.text) for a in tg.callback_answers] == [
        (query_id, "Acknowledged")
    ]
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        with_bot(tg, lambda bot: bot.answer_callback_query(query_id))


def test_it_posts_updates_to_a_webhook_with_the_secret_token(tg: FakeTelegram) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["X-Telegram-Bot-Api-Secret-Token"], json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/telegram/webhook"
        with_bot(tg, lambda bot: bot.set_webhook(url, secret_token="s3cret"))
        update = tg.send_user_message(LEADER, "/status 7")
        tg.wait_for(lambda: received)
        with pytest.raises(Conflict, match="webhook is active"):
            with_bot(tg, lambda bot: bot.get_updates())
    finally:
        receiver.shutdown()
        receiver.server_close()
        thread.join()
    assert received == [("s3cret", update)]
    assert tg.pending_updates == []


# -- errors ----------------------------------------------------------------------------


def test_it_raises_retry_after_for_a_forced_429_then_delivers(tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as raised:
        with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7"))
    assert raised.value.retry_after == dt.timedelta(seconds=3)
    with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7"))
    assert len(tg.sent) == 1 and tg.rate_limited == 0


def test_it_raises_forbidden_for_a_chat_that_blocked_the_bot(tg: FakeTelegram) -> None:
    tg.block_chat(LEADER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7"))
    with_bot(tg, lambda bot: bot.send_message(2002, "Incident 7"))


def test_it_raises_forbidden_for_a_forced_403(tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden):
        with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7"))


def test_it_raises_bad_request_for_chat_not_found(tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=400)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        with_bot(tg, lambda bot: bot.send_message(LEADER, "Incident 7"))


def test_it_raises_chat_migrated_with_the_new_chat_id(tg: FakeTelegram) -> None:
    tg.migrate_chat(-42, -100_042)
    with pytest.raises(ChatMigrated) as raised:
        with_bot(tg, lambda bot: bot.send_message(-42, "Incident 7"))
    assert raised.value.new_chat_id == -100_042
    with_bot(tg, lambda bot: bot.send_message(-100_042, "Incident 7"))


def test_it_refuses_connections_while_down_and_accepts_them_after_up(tg: FakeTelegram) -> None:
    port = tg.port

    async def use(bot: Bot) -> str | None:
        tg.down()
        with pytest.raises(NetworkError):
            await bot.get_me()
        tg.up()
        return (await bot.get_me()).username

    assert with_bot(tg, use) == "fenghuo_test_bot"
    assert tg.port == port
    tg.down()
    with pytest.raises(ConnectionRefusedError):
        raw_post(tg, "getMe", {})


def test_it_drops_a_waiting_long_poll_when_it_goes_down(tg: FakeTelegram) -> None:
    async def use(bot: Bot) -> float:
        polling = asyncio.create_task(bot.get_updates(timeout=HOLD))
        await asyncio.to_thread(tg.wait_for, lambda: tg.calls("getUpdates"))
        started = time.monotonic()
        tg.down()
        with pytest.raises(NetworkError):
            await polling
        return time.monotonic() - started

    assert with_bot(tg, use) < HOLD  # dropped, not answered at the end of its hold


# -- flood limits ----------------------------------------------------------------------


def test_it_answers_429_to_a_second_message_within_a_second_to_one_chat(
    limited: FakeTelegram, clock: ManualClock
) -> None:
    assert send_times(limited, [LEADER]) == ["ok"]
    clock.advance(0.5)
    with pytest.raises(RetryAfter) as raised:
        with_bot(limited, lambda bot: bot.send_message(LEADER, "alert"))
    assert raised.value.retry_after == dt.timedelta(seconds=1)
    assert limited.rate_limited == 1


def test_it_accepts_one_message_a_second_to_one_chat(
    limited: FakeTelegram, clock: ManualClock
) -> None:
    outcomes = send_times(limited, [LEADER] * 3, then=lambda: clock.advance(1.0))
    assert outcomes == ["ok"] * 3 and limited.rate_limited == 0


def test_it_tolerates_jitter_within_the_configured_tolerance(clock: ManualClock) -> None:
    with FakeTelegram(token=TOKEN, clock=clock, tolerance=0.05) as tg:
        assert send_times(tg, [LEADER]) == ["ok"]
        clock.advance(0.97)
        assert send_times(tg, [LEADER]) == ["ok"]


def test_it_answers_429_to_the_31st_message_within_a_second_overall(
    limited: FakeTelegram, clock: ManualClock
) -> None:
    outcomes = send_times(limited, list(range(1, 32)))
    assert outcomes == ["ok"] * 30 + ["429"]
    clock.advance(1.0)
    assert send_times(limited, [31]) == ["ok"]
    assert limited.rate_limited == 1


def test_it_accepts_30_messages_a_second_overall(limited: FakeTelegram, clock: ManualClock) -> None:
    for second in range(2):
        assert send_times(limited, list(range(100 * second + 1, 100 * second + 31))) == ["ok"] * 30
        clock.advance(1.0)
    assert limited.rate_limited == 0


def test_it_answers_429_to_the_21st_message_a_minute_to_one_group(
    limited: FakeTelegram, clock: ManualClock
) -> None:
    # One every 2 s: fast for a group, yet slower than 1 a second.
    outcomes = send_times(limited, [-42] * 21, then=lambda: clock.advance(2.0))
    assert outcomes == ["ok"] * 20 + ["429"]
    clock.advance(60.0 - 42.0)  # the first message leaves the minute
    assert send_times(limited, [-42]) == ["ok"]


def test_it_counts_edits_against_the_limits(limited: FakeTelegram, clock: ManualClock) -> None:
    assert send_times(limited, [LEADER]) == ["ok"]
    with pytest.raises(RetryAfter):
        with_bot(limited, lambda bot: bot.edit_message_text("acknowledged", LEADER, 1))
    clock.advance(1.0)
    with_bot(limited, lambda bot: bot.edit_message_text("acknowledged", LEADER, 1))


def test_it_enforces_no_limit_when_told_not_to(clock: ManualClock) -> None:
    with FakeTelegram(token=TOKEN, clock=clock, enforce_limits=False) as tg:
        assert send_times(tg, [LEADER] * 5) == ["ok"] * 5


def test_it_waits_for_a_condition_outside_the_fake_and_gives_up_in_time(
    tg: FakeTelegram,
) -> None:
    flag = threading.Event()
    threading.Timer(0.1, flag.set).start()
    assert tg.wait_for(flag.is_set) is True
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        tg.wait_for(lambda: tg.sent, timeout=0.2)
    # It waited its 0.2 s and then gave up (not waiting for ever).
    assert 0.2 <= time.monotonic() - started < 0.2 + STALL_SECONDS
