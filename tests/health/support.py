"""Helpers for the paging-health tests: Telegram destinations, a channel that cannot
reach Telegram, and one delivery pass at a minute after T0."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import ChannelError, OutgoingMessage, Receipt
from escalation.destinations import add_destination
from escalation.outbox import DeliveryResult, deliver
from escalation.worker import run_round
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, RecordingChannel

# What python-telegram-bot's NetworkError reads like when the Bot API cannot be reached.
UNREACHABLE = "chat 1001: NetworkError: httpx.ConnectError: All connection attempts failed"


class Unreachable:
    """A Telegram channel whose every send fails as an unreachable Bot API does."""

    kind = "telegram"

    def __init__(self) -> None:
        self.tries = 0

    def send(self, message: OutgoingMessage) -> Receipt:
        self.tries += 1
        raise ChannelError(UNREACHABLE)


def telegram_for(factory: sessionmaker[Session], org: dict[str, Person], *logins: str) -> None:
    with factory() as s, s.begin():
        for i, login in enumerate(logins):
            add_destination(
                s,
                person_id=org[login].id,
                kind="telegram",
                address=str(1001 + i),
                actor=system_actor("cli"),
                now=T0,
            )


def minute(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def deliver_at(
    factory: sessionmaker[Session], m: float, telegram: object, worker: str = "w1"
) -> DeliveryResult:
    return deliver(
        factory,
        now=minute(m),
        channels={"inbox": RecordingChannel("inbox"), "telegram": telegram},  # type: ignore[dict-item]
        policy=DEFAULT_POLICY,
        worker_id=worker,
    )


def round_at(factory: sessionmaker[Session], m: float, channels: Mapping[str, object]) -> None:
    """One worker round (sweep, hand-over after ``fallback_after``, delivery) at minute
    ``m``, with the inbox and ``channels``."""
    run_round(
        factory,
        clock=FrozenClock(minute(m)),
        policy=DEFAULT_POLICY,
        channels={"inbox": RecordingChannel("inbox"), **channels},  # type: ignore[dict-item]
        worker_id="w1",
        stop=threading.Event(),
    )
