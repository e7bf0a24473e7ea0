"""Duty handoffs (交接班): the 08:30 handoff tells the incoming officer once, with the open
incidents and the deadlines running; the outgoing one acknowledges, once, audited."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import ConfigError, load_settings
from escalation.handoff_watch import HandoffDuty
from escalation.handoffs import DutyHandoff, acknowledge_handoff
from escalation.models import Bulletin, Destination
from incidents import rosters
from incidents.audit import Actor, AuditEvent, system_actor
from incidents.errors import Forbidden
from incidents.models import Incident
from incidents.org import Person
from tests.conftest import load_demo_org
from tests.escalation.support import HANDOFF, open_, rotate_duty
from tests.waiting import STALL_SECONDS

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEFORE = HANDOFF - timedelta(hours=3)


def set_up_roster(factory: sessionmaker[Session], org: dict[str, Person]) -> None:
    """张晓明 (duty) holds 26 Nov 08:30 – 27 Nov 08:30, then 交通 staff (trafstaff); both
    are reachable by email."""
    with factory() as s, s.begin():
        rotate_duty(s, org["duty"].id, org["trafstaff"].id)
        for login in ("duty", "trafstaff"):
            s.add(
                Destination(
                    person_id=org[login].id,
                    kind="email",
                    address=f"{login}@example.gov.cn",
                    label="email",
                    enabled=True,
                    created_at=BEFORE,
                    updated_at=BEFORE,
                )
            )


def bulletins(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    """(key, address, zh text) of every handoff bulletin, in the order written."""
    with factory() as s:
        rows = s.execute(
            select(Bulletin.key, Bulletin.address, Bulletin.text_zh)
            .where(Bulletin.kind == "handoff")
            .order_by(Bulletin.id)
        ).all()
    return [(k, a, t) for k, a, t in rows]


def handoffs(factory: sessionmaker[Session]) -> list[DutyHandoff]:
    with factory() as s:
        return list(s.scalars(select(DutyHandoff).order_by(DutyHandoff.id)))


def audit_kinds(factory: sessionmaker[Session], prefix: str) -> list[tuple[str, str]]:
    with factory() as s:
        rows = s.execute(
            select(AuditEvent.kind, AuditEvent.source)
            .where(AuditEvent.kind.like(prefix + "%"))
            .order_by(AuditEvent.id)
        ).all()
    return [(k, src) for k, src in rows]


def test_the_0830_handoff_tells_the_incoming_officer_once_with_incidents_and_deadlines(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    set_up_roster(factory, org)
    # A relatively major incident found at 02:00 CST: its 4-hour external report was due
    # at 06:00 CST, so at 08:30 it is overdue; a general one found at 08:00 CST.
    late = open_(factory, org, "relatively_major", at=datetime(2026, 11, 26, 18, 0, tzinfo=UTC))
    fresh = open_(factory, org, "general", at=datetime(2026, 11, 27, 0, 0, tzinfo=UTC))
    duty = HandoffDuty(tz=SHANGHAI)

    assert duty.run(factory, HANDOFF - timedelta(minutes=1)).handoff_id is None
    assert bulletins(factory) == []

    first = duty.run(factory, HANDOFF)
    assert first.handoff_id is not None
    [handoff] = handoffs(factory)
    assert handoff.shift_starts_at == HANDOFF
    assert handoff.shift_ends_at == HANDOFF + timedelta(days=1)
    assert (handoff.outgoing_id, handoff.incoming_id) == (org["duty"].id, org["trafstaff"].id)
    assert handoff.open_incidents == 2 and handoff.running_deadlines >= 1
    assert handoff.acknowledged_at is None

    told = bulletins(factory)
    assert [(k, a) for k, a, _ in told] == [
        (f"handoff:{handoff.id}:in", "trafstaff@example.gov.cn"),
        (f"handoff:{handoff.id}:out", "duty@example.gov.cn"),
    ]
    incoming_text = told[0][2]
    with factory() as s:
        late_number = s.get_one(Incident, late).number
        fresh_number = s.get_one(Incident, fresh).number
    assert "张晓明 → " in incoming_text and "未结事件 2 起" in incoming_text
    # Gravest first: the relatively major one before the general one, with grade and status.
    assert incoming_text.index(late_number) < incoming_text.index(fresh_number)
    assert f"· {late_number} 较大 " in incoming_text and f"· {fresh_number} 一般 " in incoming_text
    assert "(已超时)" in incoming_text  # the external report due at 06:00 CST
    assert "/handoff" in told[1][2]

    # Another worker, and this one after a restart: nothing more is written.
    for again in (HandoffDuty(tz=SHANGHAI), HandoffDuty(tz=SHANGHAI)):
        assert again.run(factory, HANDOFF + timedelta(minutes=1)).handoff_id is None
    assert len(bulletins(factory)) == 2 and len(handoffs(factory)) == 1
    assert audit_kinds(factory, "handoff.") == [("handoff.opened", "worker")]


def test_the_lists_are_bounded_with_and_n_more(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    set_up_roster(factory, org)
    for minute in range(5):
        open_(factory, org, "general", at=BEFORE + timedelta(minutes=minute))
    HandoffDuty(tz=SHANGHAI, limit=3).run(factory, HANDOFF)
    incoming_text = bulletins(factory)[0][2]
    assert "未结事件 5 起" in incoming_text
    assert incoming_text.count(" 一般 ") == 3
    assert "……另有 2 起,见事件列表" in incoming_text
    with factory() as s:
        link = s.scalars(select(Bulletin.link_path).where(Bulletin.key.like("%:in"))).one()
    assert link == "/incidents?open=1"


def test_a_restarted_worker_hands_over_within_catch_up_and_not_after(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    set_up_roster(factory, org)
    late = HandoffDuty(tz=SHANGHAI, catch_up=timedelta(hours=2))
    assert late.run(factory, HANDOFF + timedelta(hours=3)).handoff_id is None
    assert handoffs(factory) == []
    assert late.run(factory, HANDOFF + timedelta(days=1, minutes=40)).handoff_id is not None
    [handoff] = handoffs(factory)
    assert handoff.shift_starts_at == HANDOFF + timedelta(days=1)
    assert (handoff.outgoing_id, handoff.incoming_id) == (org["trafstaff"].id, org["duty"].id)


def test_the_same_person_staying_on_is_no_handoff(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    set_up_roster(factory, org)
    with factory() as s, s.begin():
        # 张晓明 covers the next shift too.
        rosters.add_override(
            s,
            "duty_officer",
            person_id=org["duty"].id,
            starts_at=HANDOFF,
            ends_at=HANDOFF + timedelta(days=1),
            actor=system_actor("cli"),
            now=BEFORE,
        )
    assert HandoffDuty(tz=SHANGHAI).run(factory, HANDOFF + timedelta(minutes=1)).handoff_id is None
    assert handoffs(factory) == []


def test_two_workers_on_both_engines_write_one_handoff(
    any_factory: sessionmaker[Session],
) -> None:
    org = load_demo_org(any_factory)
    set_up_roster(any_factory, org)
    for worker in range(2):
        HandoffDuty(tz=SHANGHAI).run(any_factory, HANDOFF + timedelta(seconds=worker))
    assert len(handoffs(any_factory)) == 1 and len(bulletins(any_factory)) == 2


def test_two_workers_at_the_same_moment_on_postgresql_write_one_handoff(
    pg_url: str,
) -> None:
    from incidents.db import make_engine, make_sessionmaker

    engines = [make_engine(pg_url) for _ in range(2)]
    try:
        factories = [make_sessionmaker(e) for e in engines]
        org = load_demo_org(factories[0])
        set_up_roster(factories[0], org)
        start = threading.Barrier(2)
        found: list[int | None] = []

        def work(factory: sessionmaker[Session]) -> None:
            start.wait()
            found.append(HandoffDuty(tz=SHANGHAI).run(factory, HANDOFF).handoff_id)

        threads = [threading.Thread(target=work, args=(f,)) for f in factories]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=STALL_SECONDS)
        assert len(found) == 2 and found.count(None) == 1  # one wrote it, the other did not
        assert len(handoffs(factories[0])) == 1 and len(bulletins(factories[0])) == 2
    finally:
        for e in engines:
            e.dispose()


def test_the_acknowledgement_is_recorded_audited_and_a_second_changes_nothing(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    set_up_roster(factory, org)
    handoff_id = HandoffDuty(tz=SHANGHAI).run(factory, HANDOFF).handoff_id
    assert handoff_id is not None
    at = HANDOFF + timedelta(minutes=5)
    outgoing = Actor(org["duty"].id, "duty", "telegram")
    with factory() as s, s.begin(), pytest.raises(Forbidden):
        acknowledge_handoff(
            s, handoff_id=handoff_id, actor=Actor(org["director"].id, "director", "web"), now=at
        )
    with factory() as s, s.begin():
        assert acknowledge_handoff(s, handoff_id=handoff_id, actor=outgoing, now=at).changed
    with factory() as s, s.begin():
        again = acknowledge_handoff(
            s,
            handoff_id=handoff_id,
            actor=Actor(org["trafstaff"].id, "trafstaff", "web"),
            now=at + timedelta(minutes=1),
        )
        assert not again.changed
        assert again.handoff.acknowledged_by_id == org["duty"].id
    [handoff] = handoffs(factory)
    assert handoff.acknowledged_at == at and handoff.acknowledged_via == "telegram"
    assert audit_kinds(factory, "handoff.") == [
        ("handoff.opened", "worker"),
        ("handoff.acknowledged", "telegram"),
    ]


def test_an_unacknowledged_handoff_is_reminded_once_after_thirty_minutes(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    set_up_roster(factory, org)
    duty = HandoffDuty(tz=SHANGHAI, ack_after=timedelta(minutes=30))
    handoff_id = duty.run(factory, HANDOFF).handoff_id
    assert duty.run(factory, HANDOFF + timedelta(minutes=29)).reminded == 0
    assert duty.run(factory, HANDOFF + timedelta(minutes=30)).reminded == 1
    assert HandoffDuty(tz=SHANGHAI).run(factory, HANDOFF + timedelta(minutes=31)).reminded == 0
    reminders = [(k, a) for k, a, _ in bulletins(factory) if k.endswith(":remind")]
    assert sorted(reminders) == [
        (f"handoff:{handoff_id}:remind", "duty@example.gov.cn"),
        (f"handoff:{handoff_id}:remind", "trafstaff@example.gov.cn"),
    ]


def test_an_acknowledged_handoff_is_not_reminded(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    set_up_roster(factory, org)
    duty = HandoffDuty(tz=SHANGHAI)
    handoff_id = duty.run(factory, HANDOFF).handoff_id
    assert handoff_id is not None
    with factory() as s, s.begin():
        acknowledge_handoff(
            s,
            handoff_id=handoff_id,
            actor=Actor(org["trafstaff"].id, "trafstaff", "web"),
            now=HANDOFF + timedelta(minutes=10),
        )
    assert duty.run(factory, HANDOFF + timedelta(hours=1)).reminded == 0


@pytest.mark.parametrize("raw", ["soon", "0", "-5"])
def test_a_bad_handoff_ack_minutes_stops_start_up_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "FENGHUO_HANDOFF_ACK_MINUTES": raw,
                "FENGHUO_SECRET_KEY": "k" * 32,
                "FENGHUO_ENV": "test",
            }
        )
    assert "FENGHUO_HANDOFF_ACK_MINUTES" in str(caught.value)


def test_the_worker_runs_the_handoff_duty_on_a_job_of_its_own(
    sqlite_url: str, factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from escalation.channels.inbox import InboxChannel
    from incidents.clock import FrozenClock
    from tests.escalation.support import DEFAULT_POLICY, worker_thread
    from tests.waiting import wait_for

    set_up_roster(factory, org)
    clock = FrozenClock(HANDOFF + timedelta(minutes=2))
    with worker_thread(
        database_url=sqlite_url,
        policy=DEFAULT_POLICY,
        clock=clock,
        channels={"inbox": InboxChannel(factory, clock)},
        sweep_seconds=0.05,
        handoff_duty=HandoffDuty(tz=SHANGHAI),
    ):
        wait_for(lambda: len(handoffs(factory)) == 1, "the 08:30 handoff to be written")
    assert [k for k, _a, _t in bulletins(factory)] == [
        f"handoff:{handoffs(factory)[0].id}:in",
        f"handoff:{handoffs(factory)[0].id}:out",
    ]
