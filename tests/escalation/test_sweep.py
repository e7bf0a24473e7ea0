"""The sweep on both engines: due timers fire once, in one transaction with their outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.enqueue import OutboxWriter
from escalation.models import Notification, Timer
from escalation.sweep import due_timers, sweep
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, open_


def count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Notification)) or 0)


def test_a_sweep_with_nothing_due_changes_nothing(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    open_(any_factory, any_org, "general")  # next page at 1 h, first warning at 12 h
    before = count(any_factory)
    result = sweep(any_factory, now=T0 + timedelta(minutes=30), policy=DEFAULT_POLICY)
    assert (result.claimed, result.notifications) == (0, 0)
    assert count(any_factory) == before


def test_a_due_timer_fires_once_however_often_swept(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    open_(any_factory, any_org, "general")
    now = T0 + timedelta(minutes=61)
    first = sweep(any_factory, now=now, policy=DEFAULT_POLICY)
    again = sweep(any_factory, now=now, policy=DEFAULT_POLICY)
    # The 1 h step: 3(2) and the owning department's head, each in the inbox.
    assert (first.fired, first.notifications) == (1, 2)
    assert again.claimed == 0


def test_the_sweep_works_in_batches_and_says_when_more_are_due(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    open_(any_factory, any_org, "general")
    # The pages at 1 h, 4 h and 8 h, and the leader on duty's unconfirmed inform going one
    # up at 2 h.
    now = T0 + timedelta(hours=8, minutes=1)
    first = sweep(any_factory, now=now, policy=DEFAULT_POLICY, batch=3)
    rest = sweep(any_factory, now=now, policy=DEFAULT_POLICY, batch=3)
    assert (first.claimed, first.more) == (3, True)
    assert (rest.claimed, rest.more) == (1, False)


def test_writing_the_same_notification_twice_keeps_one_row(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    incident_id = open_(any_factory, any_org, "general")
    with any_factory() as s, s.begin():
        timer_id = s.scalars(select(Timer.id).where(Timer.status == "fired")).first()
        assert timer_id is not None
        writer = OutboxWriter(s, T0)
        for _ in range(2):
            writer.add(
                timer_id=timer_id,
                incident_id=incident_id,
                person_id=any_org["duty"].id,
                kind="step",
                text_zh="z",
                text_en="e",
                payload={},
            )
        assert writer.flush() == 0  # the page at open already reached the duty officer


@pytest.mark.postgres
def test_a_timer_locked_elsewhere_is_skipped_on_postgresql(
    pg_url: str,
) -> None:
    from incidents.db import make_engine, make_sessionmaker
    from tests.conftest import load_demo_org

    engine = make_engine(pg_url)
    factory = make_sessionmaker(engine)
    try:
        org = load_demo_org(factory)
        open_(factory, org, "general")
        # The pages at 1 h, 4 h and 8 h; the leader on duty's inform going one up at 2 h.
        now = T0 + timedelta(hours=8, minutes=1)
        holder = factory()
        with holder.begin():
            (held,) = due_timers(holder, now=now, batch=1)  # FOR UPDATE SKIP LOCKED
            others = sweep(factory, now=now, policy=DEFAULT_POLICY)
            assert others.claimed == 3  # everything but the held one, without waiting
        after = sweep(factory, now=now, policy=DEFAULT_POLICY)
        assert after.claimed == 1
        with factory() as s:
            assert s.get(Timer, held.id).status == "fired"  # type: ignore[union-attr]
        holder.close()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_use_case_waiting_for_a_sweep_on_the_same_incident_does_not_deadlock(
    pg_url: str,
) -> None:
    import threading
    from datetime import UTC

    from sqlalchemy import text

    from escalation import response
    from escalation.firing import Firing
    from incidents.audit import system_actor
    from incidents.db import make_engine, make_sessionmaker
    from tests.conftest import actor_for, load_demo_org
    from tests.waiting import STALL_SECONDS, wait_for

    engine = make_engine(pg_url)
    factory = make_sessionmaker(engine)
    try:
        org = load_demo_org(factory)
        incident_id = open_(factory, org, "major")
        now = T0 + timedelta(minutes=31)
        sweeper = factory()
        sweeper.begin()
        claimed = due_timers(sweeper, now=now, batch=10)
        acked: dict[str, object] = {}

        def acknowledge() -> None:
            try:
                with factory() as s, s.begin():
                    acked["changed"] = response.acknowledge(
                        s, incident_id=incident_id, actor=actor_for(org["cchead"]), now=now
                    ).changed
            except Exception as exc:
                acked["error"] = exc

        thread = threading.Thread(target=acknowledge)
        thread.start()

        def ack_is_waiting() -> bool:
            with engine.connect() as conn:
                return bool(
                    conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()"
                        )
                    ).scalar()
                )

        wait_for(ack_is_waiting, "the acknowledgement to wait for the claimed timers")
        # The sweep now writes notifications that refer to the incident the use case has
        # locked: with FOR UPDATE there this would be a deadlock.
        firing = Firing(sweeper, now=now, default_tz=UTC)
        for timer in claimed:
            firing.fire(timer)
        firing.finish(system_actor("worker"))
        sweeper.commit()
        sweeper.close()
        thread.join(timeout=STALL_SECONDS)
        assert acked == {"changed": True}
    finally:
        engine.dispose()
