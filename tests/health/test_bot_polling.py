"""The bot keeps trying while Telegram is away, and its heartbeat says how it is."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import Heartbeat
from escalation.telegram.actions import BotActions
from escalation.telegram.bot import ALLOWED_UPDATES, build_application
from escalation.telegram.polling import BotHeartbeat, poll_forever
from incidents.clock import SystemClock
from tests.escalation.support import DEFAULT_POLICY
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:TEST-token"


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def row(factory: sessionmaker[Session]) -> Heartbeat | None:
    with factory() as s:
        return s.scalars(select(Heartbeat).where(Heartbeat.kind == "bot")).first()


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def polling(factory: sessionmaker[Session]) -> Iterator[Callable[[str], threading.Thread]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []
    actions = BotActions(
        factory, public_url="http://127.0.0.1", tz=DEFAULT_POLICY.tz, redact_titles=False
    )

    def start(api_url: str) -> threading.Thread:
        thread = threading.Thread(
            target=poll_forever,
            args=(
                lambda: build_application(
                    token=TOKEN, api_url=api_url, actions=actions, clock=SystemClock()
                ),
            ),
            kwargs={
                "heartbeat": BotHeartbeat(factory, SystemClock(), TOKEN),
                "allowed_updates": ALLOWED_UPDATES,
                "stop": stop,
                "first_retry": 0.05,
                "max_retry": 0.2,
            },
            daemon=True,
        )
        thread.start()
        threads.append(thread)
        return thread

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=20)


def test_an_unreachable_bot_api_is_retried_and_reported_not_fatal(
    factory: sessionmaker[Session], polling: Callable[[str], threading.Thread]
) -> None:
    thread = polling(f"http://127.0.0.1:{closed_port()}/bot")
    wait_until(
        lambda: (r := row(factory)) is not None and r.detail == "unreachable", 20, "unreachable"
    )
    first = row(factory)
    assert first is not None and first.healthy is False and first.failing_since is not None
    # Still trying, not given up: the beat moves on while the failure's start stays.
    wait_until(
        lambda: (r := row(factory)) is not None and r.beat_at > first.beat_at, 20, "a later beat"
    )
    later = row(factory)
    assert later is not None and later.failing_since == first.failing_since
    assert thread.is_alive()
    assert first.name == "bot:123456"  # the bot's id, never the token's secret part


def test_the_bot_reports_polling_once_telegram_answers(
    factory: sessionmaker[Session], polling: Callable[[str], threading.Thread]
) -> None:
    with FakeTelegram(token=TOKEN) as fake:
        polling(fake.base_url)
        wait_until(lambda: (r := row(factory)) is not None and r.detail == "polling", 20, "polling")
        found = row(factory)
        assert found is not None and found.healthy is True and found.failing_since is None


def test_a_stopped_bot_stops_at_once_and_removes_its_heartbeat(
    factory: sessionmaker[Session],
) -> None:
    stop = threading.Event()
    actions = BotActions(
        factory, public_url="http://127.0.0.1", tz=DEFAULT_POLICY.tz, redact_titles=False
    )
    api_url = f"http://127.0.0.1:{closed_port()}/bot"
    thread = threading.Thread(
        target=poll_forever,
        args=(
            lambda: build_application(
                token=TOKEN, api_url=api_url, actions=actions, clock=SystemClock()
            ),
        ),
        kwargs={
            "heartbeat": BotHeartbeat(factory, SystemClock(), TOKEN),
            "allowed_updates": ALLOWED_UPDATES,
            "stop": stop,
            "first_retry": 30.0,  # a long backoff: the stop must not wait for it
        },
        daemon=True,
    )
    thread.start()
    wait_until(
        lambda: (r := row(factory)) is not None and r.detail == "unreachable", 20, "unreachable"
    )
    asked = time.monotonic()
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive() and time.monotonic() - asked < 10
    assert row(factory) is None


def test_telegram_lost_while_polling_marks_the_bot_unhealthy_until_polls_work_again(
    factory: sessionmaker[Session],
    polling: Callable[[str], threading.Thread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from escalation import health
    from escalation.telegram import polling as polling_module

    monkeypatch.setattr(health, "BOT_BEAT", timedelta(seconds=0.2))
    monkeypatch.setattr(polling_module, "QUIET_SECONDS", 1.0)
    with FakeTelegram(token=TOKEN) as fake:
        polling(fake.base_url)
        wait_until(lambda: (r := row(factory)) is not None and r.healthy, 20, "polling")
        fake.down()
        wait_until(
            lambda: (r := row(factory)) is not None and not r.healthy, 30, "the loss reported"
        )
        lost = row(factory)
        assert lost is not None and lost.detail in ("unreachable", "timeout")
        fake.up()
        wait_until(
            lambda: (r := row(factory)) is not None and r.detail == "polling", 30, "polling again"
        )
