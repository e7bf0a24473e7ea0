"""Paging health: heartbeats, a channel's state from its recent attempts, reason codes,
and the summary the dashboard, /readyz and /metrics show."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation import health
from escalation.channels.base import ChannelError
from escalation.delivery_reasons import reason_code
from escalation.destinations import add_destination
from escalation.models import Heartbeat, Notification
from incidents.audit import system_actor
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, RecordingChannel, ScriptedChannel, open_
from tests.health.support import (
    UNREACHABLE,
    Unreachable,
    deliver_at,
    minute,
    round_at,
    telegram_for,
)
from tests.statements import executed


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UNREACHABLE, "unreachable"),
        ("gave up after 8 attempts: " + UNREACHABLE, "unreachable"),
        ("chat 1001: TimedOut: Timed out", "timeout"),
        ("Telegram did not answer within 60 s", "timeout"),
        ("Telegram flood control: retry after 30 s", "flood_wait"),
        ("flood limit for chat 1001: next slot in 0.8 s", "flood_wait"),
        ("the bot token was refused: Unauthorized", "bad_token"),
        ("chat 1001: Forbidden: bot was blocked by the user", "refused"),
        ("chat 1001: Chat not found", "chat_gone"),
        ("destination disabled: chat 1001: Forbidden", "disabled"),
        ("no 'email' channel is configured in this worker", "not_configured"),
        ("lease held by host:1:ab lapsed", "interrupted"),
        ("something nobody foresaw", "error"),
        ("", ""),
    ],
)
def test_a_stored_error_reads_as_a_reason_code(error: str, code: str) -> None:
    assert reason_code(error) == code


def beat(factory: sessionmaker[Session], m: float, *, healthy: bool, detail: str = "") -> Heartbeat:
    with factory() as s, s.begin():
        health.beat(
            s,
            name="bot:123",
            kind="bot",
            now=minute(m),
            started_at=T0,
            healthy=healthy,
            detail=detail,
        )
    with factory() as s:
        return s.get_one(Heartbeat, "bot:123")


def test_a_heartbeat_keeps_the_start_of_a_failure_until_it_is_healthy_again(
    factory: sessionmaker[Session],
) -> None:
    assert beat(factory, 0, healthy=False, detail="starting").failing_since == minute(0)
    row = beat(factory, 1, healthy=False, detail="unreachable")
    assert (row.failing_since, row.beat_at, row.detail) == (minute(0), minute(1), "unreachable")
    row = beat(factory, 2, healthy=True, detail="polling")
    assert (row.healthy, row.failing_since) == (True, None)
    assert beat(factory, 3, healthy=False, detail="timeout").failing_since == minute(3)


def test_an_unknown_heartbeat_kind_is_refused_by_name(factory: sessionmaker[Session]) -> None:
    with factory() as s, pytest.raises(ValueError, match="heartbeat kind"):
        health.beat(s, name="x", kind="daemon", now=T0, started_at=T0)


def test_a_channel_fails_from_its_first_failure_after_the_last_success(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    telegram_for(factory, org, "duty", "cchead")
    open_(factory, org, "major")
    deliver_at(factory, 0, ScriptedChannel("telegram", []))  # Telegram works at first
    with factory() as s:
        assert health.channel_health(s)["telegram"].failing is False
    open_(factory, org, "major", at=minute(3))
    down = Unreachable()
    deliver_at(factory, 3, down)
    deliver_at(factory, 5, down)  # the retries after backoff fail too
    assert down.tries >= 2
    with factory() as s:
        state = health.channel_health(s)["telegram"]
    assert (state.failing, state.since, state.reason) == (True, minute(3), "unreachable")
    assert state.last_success_at == minute(0)


def test_one_person_blocking_the_bot_does_not_make_the_channel_failing(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    telegram_for(factory, org, "duty")
    open_(factory, org, "major")
    blocked = ScriptedChannel(
        "telegram", [ChannelError("chat 1001: Forbidden: bot was blocked by the user", True)]
    )
    deliver_at(factory, 0, blocked)
    with factory() as s:
        assert health.channel_health(s)["telegram"].failing is False


def test_the_worker_is_stale_after_a_few_sweeps_without_a_beat(
    factory: sessionmaker[Session],
) -> None:
    with factory() as s:
        assert health.paging_health(s, T0, DEFAULT_POLICY).problems == ["worker"]
    with factory() as s, s.begin():
        health.beat(s, name="worker:w1", kind="worker", now=T0, started_at=T0)
    with factory() as s:
        fresh = health.paging_health(s, T0 + timedelta(seconds=10), DEFAULT_POLICY)
        stale = health.paging_health(s, T0 + timedelta(seconds=31), DEFAULT_POLICY)
    assert (fresh.ok, fresh.worker is not None and fresh.worker.age) == (
        True,
        timedelta(seconds=10),
    )
    assert stale.problems == ["worker"]


def test_a_notice_waiting_longer_than_the_bound_is_a_problem(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    telegram_for(factory, org, "duty", "cchead")
    open_(factory, org, "major")
    deliver_at(factory, 0, Unreachable())
    bound = health.delivery_bound(DEFAULT_POLICY, 5)
    assert bound == DEFAULT_POLICY.outbox.fallback_after + timedelta(seconds=15)
    with factory() as s, s.begin():
        for m in (1, 3):
            health.beat(s, name="worker:w1", kind="worker", now=minute(m), started_at=T0)
    with factory() as s:
        early = health.paging_health(s, minute(1), DEFAULT_POLICY)
        late = health.paging_health(s, minute(3), DEFAULT_POLICY)
    assert early.oldest_undelivered_channel == "telegram"
    assert early.oldest_undelivered_age == timedelta(minutes=1)
    assert "delivery" not in early.problems
    assert "delivery" in late.problems


def test_channel_rows_record_the_derived_start_of_a_failure(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    telegram_for(factory, org, "duty")
    open_(factory, org, "major")
    deliver_at(factory, 0, Unreachable())
    with factory() as s, s.begin():
        health.record_channels(s, health.channel_health(s).values(), now=minute(2))
    with factory() as s:
        state = health.paging_health(s, minute(2), DEFAULT_POLICY)
        rows = {r.name: r for r in s.scalars(select(Heartbeat))}
    telegram = next(c for c in state.channels if c.channel == "telegram")
    assert (telegram.failing, telegram.since, telegram.reason) == (True, minute(0), "unreachable")
    assert rows["channel:telegram"].detail == "unreachable"
    assert "channel:telegram" in state.problems


def test_a_channel_no_live_worker_reports_on_is_left_out(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    telegram_for(factory, org, "duty")
    open_(factory, org, "major")
    deliver_at(factory, 0, Unreachable())
    with factory() as s, s.begin():
        health.record_channels(s, health.channel_health(s).values(), now=minute(0))
    with factory() as s:
        now = health.paging_health(s, minute(0), DEFAULT_POLICY)
        later = health.paging_health(s, minute(10), DEFAULT_POLICY)
    assert [c.channel for c in now.failing_channels] == ["telegram"]
    assert later.failing_channels == [] and "worker" in later.problems


def test_a_notice_handed_on_and_delivered_by_email_is_no_longer_waiting(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    telegram_for(factory, org, "duty")
    with factory() as s, s.begin():
        add_destination(
            s,
            person_id=org["duty"].id,
            kind="email",
            address="duty@example.gov.cn",
            actor=system_actor("cli"),
            now=T0,
        )
    open_(factory, org, "major")
    down, email = Unreachable(), RecordingChannel("email")
    for m in range(4):  # after fallback_after (2 min) the hand-over tries email
        round_at(factory, m, {"telegram": down, "email": email})
    assert [m.recipient_login for m in email.sent] == ["duty"]
    with factory() as s:
        queued_telegram = s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.channel == "telegram", Notification.status == "pending")
        )
        state = health.paging_health(s, minute(30), DEFAULT_POLICY)
    assert queued_telegram == 1  # Telegram keeps retrying: nothing is lost …
    assert state.oldest_undelivered_at is None  # … but duty is not waiting any more
    assert "delivery" not in state.problems


def test_channel_state_and_the_oldest_wait_read_alike_on_both_engines(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    telegram_for(any_factory, any_org, "duty", "cchead")
    open_(any_factory, any_org, "major")
    deliver_at(any_factory, 0, Unreachable())
    with any_factory() as s, s.begin():
        health.beat(s, name="worker:w1", kind="worker", now=minute(1), started_at=T0)
        health.beat(s, name="worker:w1", kind="worker", now=minute(3), started_at=T0)
        health.record_channels(s, health.channel_health(s).values(), now=minute(3))
    with any_factory() as s:
        state = health.paging_health(s, minute(3), DEFAULT_POLICY)
        depths = health.queue_depths(s)
    assert state.problems == ["channel:telegram", "delivery"]
    assert state.oldest_undelivered_at == T0
    assert depths["telegram"] == (2, T0)


def test_the_oldest_wait_reads_the_queue_not_the_notification_table(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    """SQLite's planner, with statistics of a million sent notices and an empty queue
    (ANALYZE on a quiet day), read the whole table for the oldest wait: 60 % of a
    dashboard's time at 1,000,000 incidents. The statistics are written as ANALYZE
    writes them, so the plan is the one such a database gets."""
    open_(factory, org, "general")
    engine = factory.kw["bind"]
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'notification'")
        for index, stat in (
            ("ix_notification_receipt", "1050005 1050005"),
            ("ix_notification_person", "1050005 1050005 1"),
            ("ix_notification_incident", "1050005 1 1"),
            ("sqlite_autoindex_notification_1", "1050005 1 1 1"),
        ):
            conn.exec_driver_sql(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('notification', ?, ?)",
                (index, stat),
            )
    engine.dispose()  # statistics are read when a connection opens
    with factory() as s, executed(engine) as seen:
        health.oldest_undelivered(s)
    with engine.connect() as conn:
        plan = [
            str(row[-1])
            for statement, params in seen
            if statement.startswith(("SELECT", "WITH"))
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        ]
    # The main table is read through the queue's index only; the sibling check probes
    # one person's rows of one timer (notification_1).
    reads = [step for step in plan if re.match(r"(SCAN|SEARCH) notification( |$)", step)]
    assert reads, plan
    assert all("ix_notification_queue" in step for step in reads), plan
