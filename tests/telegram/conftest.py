"""Fixtures for the Telegram tests: the fake Bot API server, the channel, the bot.

The fake server (tests/fakes/telegram/) speaks the real wire protocol on loopback and
enforces Telegram's flood limits by answering 429, so python-telegram-bot runs here as
it does in production, only against another base URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.telegram import TelegramChannel
from escalation.telegram.actions import BotActions
from escalation.telegram.bot import PollingBot, build_application
from escalation.telegram.linking import link_person
from incidents.audit import Actor
from incidents.clock import FrozenClock
from tests.escalation.support import DEFAULT_POLICY
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:TEST-token"
PUBLIC_URL = "https://fenghuo.example.gov.cn"
CLI = Actor(None, "cli", "cli")
# Telegram user ids of the demo people who link their accounts in these tests.
USER_IDS = {"duty": 1001, "cchead": 1002, "netsec": 1003, "director": 1004, "trafstaff": 1005}


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # The channel opts in to timedelta retry_after values (it reads both forms); make the
    # opt-in visible to PTB in every test, whichever module is imported first.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


def link(factory: sessionmaker[Session], login: str, now: datetime) -> int:
    """Link ``login`` to its test Telegram user (as ``fenghuo telegram link`` does)."""
    user_id = USER_IDS[login]
    with factory() as session, session.begin():
        link_person(session, login=login, chat_id=user_id, actor=CLI, now=now)
    return user_id


@pytest.fixture
def make_channel(
    fake: FakeTelegram,
) -> Iterator[Callable[..., TelegramChannel]]:
    made: list[TelegramChannel] = []

    def make(
        factory: sessionmaker[Session] | None, clock: FrozenClock, **kw: object
    ) -> TelegramChannel:
        options: dict[str, object] = {
            "token": TOKEN,
            "session_factory": factory,
            "api_url": fake.base_url,
            "public_url": PUBLIC_URL,
            "tz": DEFAULT_POLICY.tz,
            "clock": clock,
            "flush_seconds": None,
        }
        options.update(kw)
        channel = TelegramChannel(**options)  # type: ignore[arg-type]
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()


@pytest.fixture
def start_bot(fake: FakeTelegram) -> Iterator[Callable[..., PollingBot]]:
    running: list[PollingBot] = []

    def start(factory: sessionmaker[Session], clock: FrozenClock, **kw: object) -> PollingBot:
        actions = BotActions(
            factory,
            public_url=PUBLIC_URL,
            tz=DEFAULT_POLICY.tz,
            redact_titles=bool(kw.get("redact_titles", False)),
        )
        application = build_application(
            token=TOKEN, api_url=fake.base_url, actions=actions, clock=clock
        )
        bot = PollingBot(application)
        bot.start()
        running.append(bot)
        return bot

    yield start
    for bot in running:
        bot.stop()
