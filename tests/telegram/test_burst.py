"""A burst of 300 alerts to 100 chats, through the outbox, within Telegram's limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import Channel
from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel
from escalation.outbox import deliver
from escalation.response import open_incident
from escalation.telegram.linking import link_person
from incidents.audit import Actor
from incidents.clock import FrozenClock
from incidents.inputs import IncidentInput
from incidents.org import Department, Person, Position
from tests.escalation.support import DEFAULT_POLICY
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import CLI

CHATS, PER_CHAT = 100, 3
# 300 messages at 30/s take 10 s (the 1 s per chat allows 3 per chat in 2 s).
NOMINAL_SECONDS = CHATS * PER_CHAT / 30


def duty_officers(factory: sessionmaker[Session], count: int, now: datetime) -> Actor:
    with factory() as s, s.begin():
        cc = Department(code="cc", name="指挥中心", kind="command_center")
        s.add(cc)
        s.flush()
        for i in range(count):
            person = Person(login=f"duty{i:03d}", name=f"值班员{i:03d}", created_at=now)
            s.add(person)
            s.flush()
            s.add(
                Position(
                    person_id=person.id,
                    role="duty_officer",
                    department_id=cc.id,
                    valid_from=datetime(2024, 1, 1, tzinfo=UTC),
                )
            )
            s.flush()
            link_person(s, login=person.login, chat_id=10_000 + i, actor=CLI, now=now)
            if i == 0:
                first = Actor(person.id, person.login, "cli")
    return first


@pytest.mark.slow
def test_it_delivers_a_burst_within_the_flood_limits_without_a_single_429(
    factory: sessionmaker[Session],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    actor = duty_officers(factory, CHATS, clock.now())
    for n in range(PER_CHAT):
        data = IncidentInput.parse(
            {
                "title": f"演练 {n}",
                "category": "malware",
                "grade": "general",
                "detected_at": clock.now().isoformat(),
            }
        )
        with factory() as s, s.begin():
            open_incident(s, data=data, actor=actor, now=clock.now(), policy=DEFAULT_POLICY)
    telegram = make_channel(factory, clock)
    channels: dict[str, Channel] = {"telegram": telegram, "inbox": InboxChannel(factory, clock)}

    started = time.monotonic()
    while deliver(
        factory, now=clock.now(), channels=channels, policy=DEFAULT_POLICY, worker_id="burst"
    ).more:
        pass
    elapsed = time.monotonic() - started

    assert len(fake.sent) == CHATS * PER_CHAT
    assert {m.chat_id for m in fake.sent} == {10_000 + i for i in range(CHATS)}
    assert fake.rate_limited == 0
    assert elapsed <= NOMINAL_SECONDS * 1.10, (
        f"{elapsed:.2f} s ({telegram.limiter.waited:.2f} s waiting)"
    )
