"""Delivery: leases, retries with backoff, permanent errors, fallbacks, the record of it all."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import ChannelError
from escalation.channels.inbox import InboxChannel
from escalation.destinations import add_destination
from escalation.models import DeliveryAttempt, Destination, InboxItem, Notification
from escalation.outbox import backoff, deliver
from escalation.queries import escalation_state
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, RecordingChannel, ScriptedChannel, open_


def pager(factory: sessionmaker[Session], org: dict[str, Person], login: str) -> int:
    """Give ``login`` a destination of the test kind ``pager``."""
    with factory() as s, s.begin():
        dest = add_destination(
            s,
            person_id=org[login].id,
            kind="pager",
            address=f"#{login}",
            actor=system_actor("cli"),
            now=T0,
        )
        return dest.id


def run(
    factory: sessionmaker[Session], channels: dict[str, object], minute: float, worker: str = "w1"
) -> object:
    return deliver(
        factory,
        now=T0 + timedelta(minutes=minute),
        channels=channels,  # type: ignore[arg-type]
        policy=DEFAULT_POLICY,
        worker_id=worker,
    )


def rows(factory: sessionmaker[Session], **where: object) -> list[Notification]:
    with factory() as s:
        stmt = select(Notification).order_by(Notification.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Notification, key) == value)
        return list(s.scalars(stmt))


def test_every_notification_is_delivered_once_and_recorded(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    inbox = InboxChannel(factory, FrozenClock(T0))
    run(factory, {"inbox": inbox}, 0)
    sent = rows(factory)
    assert {n.status for n in sent} == {"sent"}
    assert [n.attempts for n in sent] == [1, 1, 1]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(InboxItem)) == 3
        outcomes = s.scalars(select(DeliveryAttempt.outcome)).all()
    assert outcomes == ["sent", "sent", "sent"]
    assert run(factory, {"inbox": inbox}, 1).claimed == 0  # type: ignore[attr-defined]


def test_a_temporary_failure_is_retried_with_backoff_and_delivered(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    pager(factory, org, "duty")
    incident_id = open_(factory, org, "major")
    flaky = ScriptedChannel("pager", [ChannelError("gateway timeout")])
    inbox = RecordingChannel("inbox")
    run(factory, {"pager": flaky, "inbox": inbox}, 0)
    (note,) = rows(factory, channel="pager")
    assert note.status == "pending" and note.last_error == "gateway timeout"
    assert note.next_attempt_at == T0 + backoff(DEFAULT_POLICY, 1)
    run(factory, {"pager": flaky, "inbox": inbox}, 0.25)  # not yet due: backoff is 30 s
    assert rows(factory, channel="pager")[0].attempts == 1
    run(factory, {"pager": flaky, "inbox": inbox}, 0.5)
    (note,) = rows(factory, channel="pager")
    assert note.status == "sent" and note.attempts == 2
    with factory() as s:
        state = escalation_state(s, incident_id)
    (shown,) = [
        n
        for n in state["chains"][0]["steps"][0]["timers"][0]["notifications"]
        if n["channel"] == "pager"
    ]
    assert shown["status"] == "sent"
    assert [h["outcome"] for h in shown["history"]] == ["temporary", "sent"]
    assert shown["history"][0]["error"] == "gateway timeout"


def test_retry_after_from_the_channel_is_honoured(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    pager(factory, org, "duty")
    open_(factory, org, "major")
    flaky = ScriptedChannel("pager", [ChannelError("429", retry_after=7)])
    run(factory, {"pager": flaky, "inbox": RecordingChannel("inbox")}, 0)
    (note,) = rows(factory, channel="pager")
    assert note.next_attempt_at == T0 + timedelta(seconds=7)


def test_a_permanent_failure_disables_the_destination_and_falls_back(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    dest_id = pager(factory, org, "duty")
    incident_id = open_(factory, org, "major")
    blocked = ScriptedChannel(
        "pager", [ChannelError("bot was blocked by the user", permanent=True)]
    )
    inbox = RecordingChannel("inbox")
    run(factory, {"pager": blocked, "inbox": inbox}, 0)
    with factory() as s:
        dest = s.get(Destination, dest_id)
        assert dest is not None and not dest.enabled
        assert dest.disabled_reason == "bot was blocked by the user"
    (failed,) = rows(factory, channel="pager")
    assert failed.status == "failed"
    fallbacks = rows(factory, fallback_of_id=failed.id)
    # The duty officer's inbox has the page already; the next person up from the duty
    # officer, the command center head (3(3)), is told who could not be reached.
    assert {(n.person_id, n.channel) for n in fallbacks} == {(org["cchead"].id, "inbox")}
    assert "unreachable on pager" in fallbacks[0].text_en
    run(factory, {"pager": blocked, "inbox": inbox}, 0.1)
    with factory() as s:
        state = escalation_state(s, incident_id)
    shown = state["chains"][0]["steps"][0]["timers"][0]["notifications"]
    by = {(n["login"], n["channel"]): n for n in shown}
    assert by[("duty", "pager")]["status"] == "failed"
    assert by[("duty", "pager")]["last_error"] == "bot was blocked by the user"
    assert by[("duty", "pager")]["fallbacks"] == [fallbacks[0].id]
    (notice,) = [t for t in state["notices"] if t["kind"] == "fallback"]
    assert [(n["login"], n["status"]) for n in notice["notifications"]] == [("cchead", "sent")]


def test_a_disabled_destination_gets_no_new_notifications(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    pager(factory, org, "duty")
    open_(factory, org, "major")
    blocked = ScriptedChannel("pager", [ChannelError("gone", permanent=True)])
    run(factory, {"pager": blocked, "inbox": RecordingChannel("inbox")}, 0)
    open_(factory, org, "major", at=T0 + timedelta(minutes=1))
    assert len(rows(factory, channel="pager")) == 1


def test_giving_up_after_max_attempts_falls_back_without_disabling(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    dest_id = pager(factory, org, "netsec")
    open_(factory, org, "major")
    down = ScriptedChannel("pager", [ChannelError("down")] * 20)
    channels = {"pager": down, "inbox": RecordingChannel("inbox")}
    minute = 0.0
    for _ in range(DEFAULT_POLICY.outbox.max_attempts):
        run(factory, channels, minute)
        minute += 70  # longer than the longest backoff so far, up to the hour's cap
    (note,) = rows(factory, channel="pager")
    assert note.status == "failed" and note.attempts == DEFAULT_POLICY.outbox.max_attempts
    with factory() as s:
        assert s.get(Destination, dest_id).enabled  # type: ignore[union-attr]
    assert rows(factory, fallback_of_id=note.id)  # the director, next above netsec


def test_a_lapsed_lease_is_taken_over_by_another_worker(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    from escalation.outbox import _claim

    with factory() as s, s.begin():  # worker w1 claims and dies before sending
        _claim(s, now=T0, worker_id="w1", batch=10, lease=DEFAULT_POLICY.outbox.lease)
    inbox = RecordingChannel("inbox")
    assert run(factory, {"inbox": inbox}, 0.25, worker="w2").claimed == 0  # type: ignore[attr-defined]
    run(factory, {"inbox": inbox}, 0.5, worker="w2")  # the 30-second lease has lapsed
    assert {n.status for n in rows(factory)} == {"sent"}
    with factory() as s:
        history = s.execute(
            select(DeliveryAttempt.worker_id, DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)
        ).all()
    assert [tuple(h) for h in history] == [("w1", "lease_expired")] * 3 + [("w2", "sent")] * 3


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_result(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from escalation.outbox import DeliveryResult, _claim, _Outcome, _write_back

    open_(factory, org, "general")
    with factory() as s, s.begin():
        stale = _claim(s, now=T0, worker_id="w1", batch=1, lease=DEFAULT_POLICY.outbox.lease)
    run(factory, {"inbox": RecordingChannel("inbox")}, 3, worker="w2")
    with factory() as s, s.begin():
        _write_back(
            s,
            stale[0],
            _Outcome("temporary", "late answer"),
            now=T0,
            policy=DEFAULT_POLICY,
            result=DeliveryResult(),
        )
    assert rows(factory, id=stale[0].notification_id)[0].status == "sent"


def test_a_channel_missing_from_the_worker_is_retried_not_lost(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    pager(factory, org, "duty")
    open_(factory, org, "major")
    run(factory, {"inbox": RecordingChannel("inbox")}, 0)
    (note,) = rows(factory, channel="pager")
    assert note.status == "pending"
    assert "no 'pager' channel" in note.last_error


def test_the_inbox_shows_each_notification_once_even_if_sent_twice(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from escalation.outbox import _claim

    open_(factory, org, "general")
    inbox = InboxChannel(factory, FrozenClock(T0))
    with factory() as s, s.begin():
        claims = _claim(s, now=T0, worker_id="w1", batch=10, lease=DEFAULT_POLICY.outbox.lease)
    first = inbox.send(claims[0].message)
    again = inbox.send(claims[0].message)
    assert first == again
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(InboxItem)) == 1


class _LockedElsewhere(RecordingChannel):
    """A channel whose sender lock another process holds (like Telegram's)."""

    def accepting(self) -> bool:
        return False


def test_rows_of_a_channel_held_by_another_worker_are_left_for_it(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    pager(factory, org, "duty")
    open_(factory, org, "major")
    locked = _LockedElsewhere("pager")
    result = run(factory, {"inbox": RecordingChannel("inbox"), "pager": locked}, 0)
    (note,) = rows(factory, channel="pager")
    assert note.status == "pending"
    assert note.attempts == 0  # not claimed, so no attempt was spent on a refusal
    assert locked.sent == []
    assert result.claimed == 3  # type: ignore[attr-defined]
    holder = RecordingChannel("pager")
    run(factory, {"inbox": RecordingChannel("inbox"), "pager": holder}, 1, worker="w2")
    assert len(holder.sent) == 1
