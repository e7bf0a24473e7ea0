"""Delivery through the outbox: Telegram's 429 honoured (a storm of minutes fails
nothing), an outage survived (email takes over within ``fallback_after``, and nothing
reaches one destination twice when Telegram is back), permanent errors disable the
destination, a migrated group followed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import Channel, ChannelError, OutgoingMessage
from escalation.channels.email import EmailChannel
from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel, retry_seconds
from escalation.destinations import add_person_destination
from escalation.models import DeliveryAttempt, Destination, Notification
from escalation.outbox import DeliveryResult, deliver
from escalation.telegram.models import TelegramLink
from escalation.worker import run_round
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.channels.smtp_server import Mailbox, smtp_server
from tests.escalation.support import DEFAULT_POLICY, open_
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import CLI, USER_IDS, link

SWEEP = timedelta(seconds=5)


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


def rounds(
    factory: sessionmaker[Session],
    clock: FrozenClock,
    channels: dict[str, Channel],
    *,
    until: Callable[[], bool],
    limit: timedelta,
) -> timedelta:
    """Run worker rounds every ``SWEEP`` of business time until ``until()``; return how
    long it took (fails past ``limit``)."""
    start = clock.now()
    while not until():
        assert clock.now() - start <= limit, "not done in time"
        run_round(
            factory,
            clock=clock,
            policy=DEFAULT_POLICY,
            channels=channels,
            worker_id="w",
            stop=threading.Event(),
        )
        clock.advance(SWEEP)
    return clock.now() - start


def all_rows(factory: sessionmaker[Session]) -> list[Notification]:
    with factory() as s:
        return list(s.scalars(select(Notification)))


def test_a_429_storm_of_several_minutes_delays_delivery_but_fails_none(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
) -> None:
    for login in ("duty", "cchead", "netsec", "director"):
        link(factory, login, clock.now())
    channel = make_channel(factory, clock)
    # Every sendMessage is refused with "retry after 20" until 80 have been refused:
    # about six minutes of flood control for the four to six notices in flight.
    fake.fail_next("sendMessage", 429, retry_after=20, times=80)
    open_(factory, org, "major", at=clock.now())
    channels: dict[str, Channel] = {"inbox": InboxChannel(factory, clock), "telegram": channel}

    def delivered() -> bool:
        return {r.status for r in telegram_rows(factory)} == {"sent"}

    took = rounds(factory, clock, channels, until=delivered, limit=timedelta(minutes=20))

    assert took >= timedelta(minutes=5)  # the storm did last several minutes
    assert "failed" not in {r.status for r in all_rows(factory)}
    rows = telegram_rows(factory)
    # Each row sent once, and its flood waits were not counted as attempts.
    assert {r.attempts for r in rows} == {1}
    with factory() as s:
        waits = s.scalars(
            select(DeliveryAttempt.error).where(DeliveryAttempt.outcome == "flood_wait")
        ).all()
    # One flood wait per 429 (and perhaps a deferral by the sender's own limiter, when a
    # batch held two of a chat's notices: not a refusal, and not counted as an attempt).
    assert len([w for w in waits if "Telegram flood control" in w]) == 80
    assert all("Telegram flood control" in w or "flood limit for chat" in w for w in waits)
    per_chat = Counter(m.chat_id for m in fake.sent)
    with factory() as s:
        addresses = dict(
            s.execute(
                select(Destination.id, Destination.address).where(Destination.kind == "telegram")
            ).all()
        )
    expected = Counter(int(addresses[r.destination_id]) for r in rows)
    assert per_chat == expected  # nothing lost, nothing twice


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with smtp_server(box) as port:
        yield box, port


def test_with_telegram_unreachable_email_takes_over_within_fallback_after(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    people = ("duty", "cchead", "netsec")
    for login in people:
        link(factory, login, clock.now())
    with factory() as s, s.begin():
        for login in people:
            # After Telegram (linking made it their first destination).
            add_person_destination(
                s,
                person_id=org[login].id,
                kind="email",
                address=f"{login}@example.gov.cn",
                actor=CLI,
                now=clock.now(),
            )
    telegram = make_channel(factory, clock, timeout=5.0)
    email = EmailChannel(
        host="127.0.0.1",
        port=port,
        sender="烽火 <noreply@example.gov.cn>",
        security="none",
        timeout=5.0,
        public_url="https://fenghuo.example.gov.cn",
        secret_key="k" * 32,
    )
    channels: dict[str, Channel] = {
        "inbox": InboxChannel(factory, clock),
        "telegram": telegram,
        "email": email,
    }
    fake.down()
    opened = clock.now()
    open_(factory, org, "major", at=opened)
    started = {r.id: r.person_id for r in telegram_rows(factory)}

    def mailed() -> bool:
        return {a for m in box.received for a in m.rcpt_tos} >= {
            f"{login}@example.gov.cn" for login in people
        }

    took = rounds(
        factory, clock, channels, until=mailed, limit=DEFAULT_POLICY.outbox.fallback_after * 2
    )
    # Handed on by the first round after fallback_after, and sent in it.
    assert (
        DEFAULT_POLICY.outbox.fallback_after
        <= took
        <= (DEFAULT_POLICY.outbox.fallback_after + 2 * SWEEP)
    )
    assert fake.sent == []

    fake.up()

    def telegram_back() -> bool:
        return all(r.status == "sent" for r in telegram_rows(factory) if r.id in started)

    rounds(factory, clock, channels, until=telegram_back, limit=timedelta(minutes=15))
    # Nothing lost: each person has the page on Telegram too, once the API is back …
    assert {m.chat_id for m in fake.sent} >= {USER_IDS[x] for x in people}
    # … and nothing twice to one destination: one message per row, one row per channel.
    per_chat = Counter(m.chat_id for m in fake.sent)
    rows = telegram_rows(factory)
    assert sum(per_chat.values()) == len([r for r in rows if r.status == "sent"])
    per_address = Counter(a for m in box.received for a in m.rcpt_tos)
    with factory() as s:
        emails = s.scalars(
            select(Notification).where(
                Notification.channel == "email", Notification.status == "sent"
            )
        ).all()
    assert sum(per_address.values()) == len(emails)
    pairs = Counter((r.timer_id, r.person_id, r.channel) for r in all_rows(factory))
    assert set(pairs.values()) == {1}
