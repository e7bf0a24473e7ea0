"""Channels that send a batch at once (``send_many``) behind the real outbox.

The outbox claims a batch channel's rows ``batch_size`` at a time (each with its lease
and its attempt row before anything is sent), hands them to one ``send_many`` and
writes each answer back as it would a single send's: sent, a flood wait (pending
again after ``retry_after``, no attempt spent), a retry with backoff, a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import ChannelError, OutgoingMessage, Receipt, batch_size
from escalation.channels.inbox import InboxChannel
from escalation.models import DeliveryAttempt, InboxItem, Notification
from escalation.outbox import deliver
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, RecordingChannel, open_


class BatchInbox:
    """An inbox that takes ``size`` messages a call and answers as ``answer`` says: an
    exception raised, or a list of answers (None: sent) for the first call's messages."""

    kind = "inbox"

    def __init__(self, size: int, answer: object = None) -> None:
        self.batch_size = size
        self.answer = answer
        self.calls: list[list[int]] = []

    def send(self, message: OutgoingMessage) -> Receipt:
        raise AssertionError("a batch channel's rows go through send_many")

    def send_many(self, messages: Sequence[OutgoingMessage]) -> list[Receipt | ChannelError]:
        self.calls.append([m.notification_id for m in messages])
        if isinstance(self.answer, Exception):
            raise self.answer
        script = self.answer if isinstance(self.answer, list) else []
        self.answer = None  # a scripted list answers the first call only
        answers: list[Receipt | ChannelError] = []
        for n, message in enumerate(messages):
            scripted = script[n] if n < len(script) else None
            answers.append(scripted or Receipt(f"batch-{message.notification_id}"))
        return answers


def rows(factory: sessionmaker[Session]) -> list[Notification]:
    with factory() as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def test_a_batch_channel_gets_its_rows_batch_size_at_a_time_each_sent_once(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    for _ in range(3):
        open_(factory, org, "major")
    channel = BatchInbox(size=4)
    while deliver(
        factory, now=T0, channels={"inbox": channel}, policy=DEFAULT_POLICY, worker_id="w"
    ).more:
        pass
    notes = rows(factory)
    assert len(notes) == 9
    assert [len(call) for call in channel.calls] == [4, 4, 1]
    assert sorted(n for call in channel.calls for n in call) == [n.id for n in notes]
    assert {(n.status, n.attempts, n.external_id) for n in notes} == {
        ("sent", 1, f"batch-{n.id}") for n in notes
    }
    with factory() as s:
        attempts = s.scalars(select(DeliveryAttempt.outcome)).all()
    assert sorted(attempts) == ["sent"] * 9


def test_each_answer_of_a_batch_is_written_back_as_a_single_sends_would_be(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    wait = ChannelError("flood control", retry_after=42)
    gone = ChannelError("no such mailbox", permanent=True)
    channel = BatchInbox(size=10, answer=[wait, gone, None])
    result = deliver(
        factory, now=T0, channels={"inbox": channel}, policy=DEFAULT_POLICY, worker_id="w"
    )
    deferred, failed, sent = rows(factory)[:3]
    assert (result.delayed, result.failed) == (1, 1)
    # A flood wait: pending again after retry_after, and not counted as an attempt.
    assert (deferred.status, deferred.attempts) == ("pending", 0)
    assert deferred.next_attempt_at == T0 + timedelta(seconds=42)
    assert failed.status == "failed" and "no such mailbox" in failed.last_error
    assert sent.status == "sent"


def test_a_send_many_that_raises_leaves_every_row_for_a_retry_and_stops_the_lane(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    for _ in range(2):
        open_(factory, org, "major")
    channel = BatchInbox(size=4, answer=RuntimeError("the batch broke"))
    deliver(factory, now=T0, channels={"inbox": channel}, policy=DEFAULT_POLICY, worker_id="w")
    assert len(channel.calls) == 1  # one failing batch per call, not one per row
    notes = rows(factory)
    retried = [n for n in notes if n.id in channel.calls[0]]
    assert {(n.status, n.attempts) for n in retried} == {("pending", 1)}
    assert all(n.next_attempt_at > T0 for n in retried)
    assert all("the batch broke" in n.last_error for n in retried)
    assert {n.status for n in notes if n.id not in channel.calls[0]} == {"pending"}


def test_a_channel_without_send_many_is_sent_one_by_one() -> None:
    assert batch_size(RecordingChannel("pager")) == 1
    assert batch_size(BatchInbox(size=7)) == 7
    assert batch_size(None) == 1


def test_the_inbox_writes_a_batch_in_one_go_and_a_repeat_writes_nothing_twice(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    inbox = InboxChannel(factory, FrozenClock(T0))
    claimed: list[OutgoingMessage] = []

    class Spy(InboxChannel):
        def send_many(self, messages: Sequence[OutgoingMessage]) -> list[Receipt | ChannelError]:
            claimed.extend(messages)
            return super().send_many(messages)

    deliver(
        factory,
        now=T0,
        channels={"inbox": Spy(factory, FrozenClock(T0))},
        policy=DEFAULT_POLICY,
        worker_id="w",
    )
    assert len(claimed) == 3
    first = inbox.send_many(claimed)
    again = inbox.send_many(claimed)  # a retry after a crash
    assert first == again and all(isinstance(r, Receipt) for r in first)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(InboxItem)) == 3
    assert {n.status for n in rows(factory)} == {"sent"}
