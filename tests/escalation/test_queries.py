"""What the faces read: obligations with time left, the inbox, the figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from escalation import response
from escalation.channels.inbox import InboxChannel
from escalation.outbox import deliver
from escalation.queries import (
    inbox,
    mark_read,
    nearest_deadline,
    obligations_of,
    reporting_outcome,
)
from escalation.stats import figures
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0, actor_for
from tests.escalation.support import DEFAULT_POLICY, Walk, open_

TZ = DEFAULT_POLICY.tz


def test_obligations_show_the_time_left(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, T0 + timedelta(minutes=15))}
    assert rows["internal"]["time_left_seconds"] == 45 * 60
    assert rows["external"]["time_left_seconds"] == (4 * 60 - 15) * 60
    assert rows["final"]["time_left_seconds"] is None


def test_the_nearest_deadline_is_the_earliest_pending_one(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with factory() as s:
        nearest = nearest_deadline(s, incident_id, T0)
    assert nearest is not None and nearest["name"] == "internal"


def test_reporting_outcome_turns_false_on_a_breach(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with factory() as s:
        assert reporting_outcome(s, incident_id, T0)["reported_as_required"] is None
    Walk(factory, incident_id).to(61)
    with factory() as s:
        assert reporting_outcome(s, incident_id, T0 + timedelta(minutes=61)) == {
            "reported_as_required": False,
            "state": "no",
            "late_or_missed": ["internal"],
            "still_due": ["external", "final"],
        }


def test_the_inbox_lists_newest_first_and_marks_read_only_ones_own(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    open_(factory, org, "general", at=T0 + timedelta(minutes=1))
    deliver(
        factory,
        now=T0 + timedelta(minutes=1),
        policy=DEFAULT_POLICY,
        worker_id="w",
        channels={"inbox": InboxChannel(factory, FrozenClock(T0))},
    )
    cchead, duty = org["cchead"].id, org["duty"].id
    with factory() as s, s.begin():
        items = inbox(s, cchead)
        assert [i["incident_number"] for i in items] == ["FH-2026-0002", "FH-2026-0001"]
        assert mark_read(s, person_id=duty, now=T0, item_ids=[items[0]["id"]]) == 0
        assert mark_read(s, person_id=cchead, now=T0, item_ids=[items[0]["id"]]) == 1
    with factory() as s, s.begin():
        assert len(inbox(s, cchead, unread_only=True)) == 1
        assert mark_read(s, person_id=cchead, now=T0) == 1
        assert inbox(s, cchead, unread_only=True) == []


def test_figures_count_from_the_records(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    # Both engines: the means are computed in SQL, differently on each.
    factory, org = any_factory, any_org
    major = open_(factory, org, "major")
    open_(factory, org, "general")
    with factory() as s, s.begin():
        response.acknowledge(
            s, incident_id=major, actor=actor_for(org["cchead"]), now=T0 + timedelta(minutes=4)
        )
    with factory() as s, s.begin():
        response.file_report(
            s,
            incident_id=major,
            kind="initial",
            items={"entity": "e", "occurrence": "o", "obligation": "internal"},
            actor=actor_for(org["duty"]),
            now=T0 + timedelta(minutes=20),
            policy=DEFAULT_POLICY,
        )
    Walk(factory, major).to(241)
    now = T0 + timedelta(minutes=241)
    with factory() as s:
        f = figures(s, now=now, tz=TZ)
    assert f["grades"]["major"]["open"] == 1 and f["grades"]["major"]["unacknowledged"] == 0
    assert f["grades"]["general"]["unacknowledged"] == 1
    assert f["grades"]["major"]["breached"] == 1  # external, missed
    assert f["reports"] == {"met": 1, "late": 0, "missed": 1, "on_time_share": 0.5}
    assert f["mean_time_to_acknowledge_seconds"] == 240.0
    assert f["today"]["opened"] == 2 and f["today"]["reports_filed"] == 1
    assert f["today"]["breaches"] == 1


def test_due_within_the_hour_counts_pending_deadlines(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    open_(factory, org, "major")
    with factory() as s:
        f = figures(s, now=T0 + timedelta(minutes=10), tz=TZ)
    assert f["grades"]["major"]["due_within_hour"] == 1  # internal at 60 min


def test_today_starts_at_midnight_in_the_policy_zone(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    # 23:30 on the 26th in Shanghai is 15:30 UTC; 00:30 on the 27th is 16:30 UTC.
    open_(factory, org, "general", at=datetime(2026, 11, 26, 15, 30, tzinfo=UTC))
    open_(factory, org, "general", at=datetime(2026, 11, 26, 16, 30, tzinfo=UTC))
    with factory() as s:
        f = figures(s, now=datetime(2026, 11, 26, 17, 0, tzinfo=UTC), tz=TZ)
    assert f["today"]["opened"] == 1
