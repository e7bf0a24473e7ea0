"""A burst of Telegram alerts through the real outbox, channel and flood limiter.

300 alerts to 100 private chats (3 incidents each paging 100 linked duty officers),
delivered by ``escalation.outbox.deliver`` with the Telegram channel against the fake
Bot API server, which enforces Telegram's limits (30/s overall, 1/s per chat) by
answering 429. Prints the wall time, the floor the limits allow, the 429 count and the
machine's load average (the time is a figure of the machine as much as of the code).

    python bench/telegram_burst.py [--chats 100] [--per-chat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.migrate import upgrade
from config.policy import load_policy
from escalation.channels.base import Channel
from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel
from escalation.models import Notification
from escalation.outbox import deliver
from escalation.response import open_incident
from escalation.telegram.linking import link_person
from incidents.audit import Actor
from incidents.clock import FrozenClock
from incidents.db import make_engine, make_sessionmaker
from incidents.inputs import IncidentInput
from incidents.org import Department, Person, Position
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:BENCH"
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
CLI = Actor(None, "bench", "cli")


def seed(factory: sessionmaker[Session], chats: int) -> Actor:
    """A command center with ``chats`` duty officers, each linked to a private chat."""
    with factory() as s, s.begin():
        cc = Department(code="cc", name="指挥中心", name_en="Command center", kind="command_center")
        s.add(cc)
        s.flush()
        for i in range(chats):
            person = Person(login=f"duty{i:03d}", name=f"值班员{i:03d}", created_at=T0)
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
            link_person(s, login=person.login, chat_id=10_000 + i, actor=CLI, now=T0)
        first = s.scalars(select(Person).order_by(Person.id)).first()
        assert first is not None
        return Actor(first.id, first.login, "cli")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--per-chat", type=int, default=3)
    args = parser.parse_args()
    policy = load_policy()
    clock = FrozenClock(T0)
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram(token=TOKEN) as fake:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        actor = seed(factory, args.chats)
        for n in range(args.per_chat):
            data = IncidentInput.parse(
                {
                    "title": f"演练 {n + 1}",
                    "category": "malware",
                    "grade": "general",
                    "detected_at": T0.isoformat(),
                }
            )
            with factory() as s, s.begin():
                open_incident(s, data=data, actor=actor, now=T0, policy=policy)
        with factory() as s:
            queued = s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.channel == "telegram")
            )
        channel = TelegramChannel(
            token=TOKEN,
            session_factory=factory,
            api_url=fake.base_url,
            public_url="https://fenghuo.example.gov.cn",
            tz=policy.tz,
            clock=clock,
            flush_seconds=None,
        )
        channels: dict[str, Channel] = {"telegram": channel, "inbox": InboxChannel(factory, clock)}
        started = time.monotonic()
        while deliver(
            factory, now=clock.now(), channels=channels, policy=policy, worker_id="bench"
        ).more:
            pass
        elapsed = time.monotonic() - started
        channel.close()
        engine.dispose()
        total = args.chats * args.per_chat
        floor = max((total - 1) // 30, (args.per_chat - 1) * 1.0)
        nominal = max(total / 30, float(args.per_chat - 1))
        print(f"telegram notifications queued: {queued}")
        print(
            f"delivered to the fake server:  {len(fake.sent)} in {elapsed:.2f} s "
            f"({len(fake.sent) / elapsed:.1f} msg/s)"
        )
        print(
            f"limits allow at best:         {floor:.2f} s (sliding 1 s window), "
            f"{nominal:.2f} s nominal (30/s)"
        )
        print(f"over the nominal time:        {100 * (elapsed / nominal - 1):+.1f} %")
        print(f"429 answers from the limits:  {fake.rate_limited}")
        print(f"time waiting for slots:       {channel.limiter.waited:.2f} s")
        print("load average (1, 5, 15 min):  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        ok = len(fake.sent) == total and fake.rate_limited == 0 and math.isfinite(elapsed)
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
