"""Delivery through the outbox: Telegram's 429 honoured, an outage survived, permanent
errors disable the destination, a migrated group followed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import Channel, ChannelError, OutgoingMessage
from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel, retry_seconds
from escalation.models import DeliveryAttempt, Destination, Notification
from escalation.outbox import DeliveryResult, deliver
from escalation.telegram.models import TelegramLink
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.escalation.support import DEFAULT_POLICY, open_
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import USER_IDS, link


def deliver_all(
    factory: sessionmaker[Session], clock: FrozenClock, channel: TelegramChannel
) -> DeliveryResult:
    channels: dict[str, Channel] = {"telegram": channel, "inbox": InboxChannel(factory, clock)}
    return deliver(
        factory, now=clock.now(), channels=channels, policy=DEFAULT_POLICY, worker_id="t"
    )


def telegram_rows(factory: sessionmaker[Session]) -> list[Notification]:
    with factory() as s:
        return list(s.scalars(select(Notification).where(Notification.channel == "telegram")))


def test_it_honours_retry_after_and_delivers_after_it(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    link(factory, "netsec", clock.now())
    channel = make_channel(factory, clock)
    open_(factory, org, "major", at=clock.now())
    fake.fail_next("sendMessage", 429, retry_after=7)

    deliver_all(factory, clock, channel)
    [row] = telegram_rows(factory)
    assert row.status == "pending" and row.next_attempt_at == clock.now() + timedelta(seconds=7)
    clock.advance(timedelta(seconds=6))
    deliver_all(factory, clock, channel)
    assert telegram_rows(factory)[0].status == "pending"  # not before Telegram allows
    clock.advance(timedelta(seconds=1))
    deliver_all(factory, clock, channel)
    assert telegram_rows(factory)[0].status == "sent"
    assert len(fake.messages_in(USER_IDS["netsec"])) == 1


def test_it_loses_nothing_while_telegram_is_down(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    for login in ("duty", "cchead", "netsec"):
        link(factory, login, clock.now())
    channel = make_channel(factory, clock, timeout=10.0)
    fake.down()
    open_(factory, org, "major", at=clock.now())
    for _ in range(3):  # a minute of business time, failing every try
        deliver_all(factory, clock, channel)
        clock.advance(timedelta(seconds=30))
    assert {r.status for r in telegram_rows(factory)} == {"pending"}
    fake.up()
    clock.advance(timedelta(minutes=2))
    deliver_all(factory, clock, channel)

    assert {r.status for r in telegram_rows(factory)} == {"sent"}
    assert {m.chat_id for m in fake.sent} == {USER_IDS[x] for x in ("duty", "cchead", "netsec")}
    assert len(fake.sent) == 3
    with factory() as s:
        outcomes = set(s.scalars(select(DeliveryAttempt.outcome)))
    assert {"temporary", "sent"} <= outcomes


def test_it_disables_the_destination_of_a_person_who_blocked_the_bot(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    link(factory, "netsec", clock.now())
    fake.block_chat(USER_IDS["netsec"])
    channel = make_channel(factory, clock)
    open_(factory, org, "major", at=clock.now())
    deliver_all(factory, clock, channel)
    [row] = telegram_rows(factory)
    assert row.status == "failed"
    with factory() as s:
        dest = s.scalars(select(Destination).where(Destination.kind == "telegram")).one()
        assert not dest.enabled and "blocked" in dest.disabled_reason


def test_it_treats_chat_not_found_as_permanent(
    factory: sessionmaker[Session],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    fake.forget_chat(555)
    channel = make_channel(None, clock)
    with pytest.raises(ChannelError) as caught:
        channel.send(message(555))
    assert caught.value.permanent


def test_it_follows_a_group_that_became_a_supergroup(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    with factory() as s, s.begin():
        s.add(
            Destination(
                person_id=org["netsec"].id,
                kind="telegram",
                address="-4001",
                label="",
                enabled=True,
                disabled_reason="",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    fake.migrate_chat(-4001, -1004001)
    channel = make_channel(factory, clock)
    open_(factory, org, "major", at=clock.now())
    deliver_all(factory, clock, channel)
    assert [m.chat_id for m in fake.sent] == [-1004001]
    with factory() as s:
        dest = s.scalars(select(Destination).where(Destination.kind == "telegram")).one()
        assert dest.address == "-1004001"
        assert s.scalars(select(TelegramLink)).all() == []


def test_it_reads_retry_after_as_seconds_or_a_timedelta() -> None:
    assert retry_seconds(3) == 3.0
    assert retry_seconds(timedelta(seconds=2.5)) == 2.5


def test_it_sends_again_without_a_url_button_telegram_refuses(
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    fake.fail_next("sendMessage", 400, description="Bad Request: BUTTON_URL_INVALID")
    channel = make_channel(None, clock)
    channel.send(message(777))
    [sent] = fake.sent
    buttons = sent.reply_markup["inline_keyboard"][0] if sent.reply_markup else []
    assert [b.get("callback_data") for b in buttons] == ["v1:ack:9"]
    assert "/incidents/9" in sent.text


def message(chat_id: int) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=1,
        incident_id=9,
        incident_number="FH-2026-0009",
        grade="major",
        category="malware",
        title="勒索软件",
        recipient_person_id=1,
        recipient_login="x",
        recipient_language="zh_CN",
        destination_address=str(chat_id),
        kind="step",
        text_zh="",
        text_en="",
        link_path="/incidents/9",
    )
