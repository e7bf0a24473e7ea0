"""Webhook mode: Telegram POSTs updates to the web process, which checks the secret,
acts like the bot and queues its answers for the worker's sender."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from werkzeug.serving import make_server

from app import create_app
from config.settings import load_settings
from escalation.channels.telegram import TelegramChannel
from escalation.telegram.linking import issue_code, linked_person
from escalation.telegram.models import TelegramAnswer
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import TOKEN

WEBHOOK_SECRET = "webhook-secret-0123456789"


@pytest.fixture
def web(sqlite_url: str, tmp_path: Path, clock: FrozenClock, fake: FakeTelegram) -> Flask:
    settings = load_settings(
        {
            "FENGHUO_ENV": "test",
            "FENGHUO_DATABASE_URL": sqlite_url,
            "FENGHUO_INSTANCE_PATH": str(tmp_path),
            "FENGHUO_SECRET_KEY": "k" * 32,
            "FENGHUO_TELEGRAM_TOKEN": TOKEN,
            "FENGHUO_TELEGRAM_API_URL": fake.base_url,
            "FENGHUO_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "FENGHUO_TELEGRAM_MODE": "webhook",
        }
    )
    return create_app(settings, clock=clock)


@pytest.fixture
def served(web: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, web, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/telegram/webhook"
    server.shutdown()
    thread.join()


def code_for(factory: sessionmaker[Session], person: Person, clock: FrozenClock) -> str:
    with factory() as s, s.begin():
        return issue_code(s, person_id=person.id, now=clock.now(), secret_key="k" * 32).code


def queued(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(TelegramAnswer)) or 0)


def test_it_links_through_the_webhook_and_the_worker_sends_the_answer(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    served: str,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    async def set_webhook() -> None:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            await bot.set_webhook(served, secret_token=WEBHOOK_SECRET)

    asyncio.run(set_webhook())
    code = code_for(factory, org["cchead"], clock)
    fake.send_user_message(8008, f"/start {code}")
    fake.wait_for(lambda: not fake.pending_updates)

    with factory() as s:
        person = linked_person(s, 8008)
        assert person is not None and person.login == "cchead"
    assert fake.messages_in(8008) == []  # the web process never calls Telegram
    make_channel(factory, clock).flush()
    [reply] = fake.messages_in(8008)
    assert "李建国" in reply.text


def test_it_refuses_a_wrong_secret_and_processes_nothing(
    web: Flask,
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
) -> None:
    code = code_for(factory, org["cchead"], clock)
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": f"/start {code}",
            "chat": {"id": 8008, "type": "private"},
            "from": {"id": 8008, "is_bot": False, "first_name": "x"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    client = web.test_client()
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        assert client.post("/telegram/webhook", json=update, headers=headers).status_code == 403
    with factory() as s:
        assert linked_person(s, 8008) is None
    assert queued(factory) == 0
    good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    assert client.post("/telegram/webhook", json=update, headers=good).status_code == 200
    assert queued(factory) == 1
