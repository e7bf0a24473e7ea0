"""A burst of 300 alerts to 100 chats, through the outbox, within Telegram's limits.

The fake Bot API server answers 429 to any message over Telegram's limits, so a burst
delivered without one kept them. How *fast* it went is a figure, not a test: the
machine's load decides it, so ``bench/telegram_burst.py`` measures it, and the limiter's
pacing is proven on a virtual clock in ``test_flood_limiter.py``. Here the burst only has
to keep moving: it fails if no message went out for ``STALL_SECONDS``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import Channel
from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel
from escalation.models import Notification
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
from tests.waiting import Progress

CHATS, PER_CHAT = 100, 3


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

    burst = Progress("the burst to be delivered")
    while deliver(
        factory, now=clock.now(), channels=channels, policy=DEFAULT_POLICY, worker_id="burst"
    ).more:
        burst.check(len(fake.sent))

    # Every alert delivered, to every chat, none twice …
    assert len(fake.sent) == CHATS * PER_CHAT
    per_chat = Counter(m.chat_id for m in fake.sent)
    assert per_chat == Counter({10_000 + i: PER_CHAT for i in range(CHATS)})
    incidents_per_chat = {
        chat: {number for m in fake.sent if m.chat_id == chat for number in numbers(m.text)}
        for chat in per_chat
    }
    assert {len(seen) for seen in incidents_per_chat.values()} == {PER_CHAT}
    with factory() as s:
        rows = s.scalars(select(Notification).where(Notification.channel == "telegram")).all()
    assert len(rows) == CHATS * PER_CHAT
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    # … and never over Telegram's limits: not a single 429.
    assert fake.rate_limited == 0


def numbers(text: str) -> set[str]:
    return set(re.findall(r"FH-\d{4}-\d{4}", text))
