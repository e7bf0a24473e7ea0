"""The dashboard's roster warnings: coverage gaps in the next 14 days, and a holiday
arrangement still to confirm (from November, next year's)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from incidents import rosters
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0
from tests.web.conftest import Browser

ACTOR = system_actor("cli")


def keep(
    sessions: sessionmaker[Session],
    org: dict[str, Person],
    role: str,
    *,
    effective_from: datetime,
) -> None:
    with sessions() as s, s.begin():
        rosters.set_rotation(
            s,
            role,
            people=[org["duty"].id, org["cchead"].id],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 11, 1),
            actor=ACTOR,
            now=T0 - timedelta(days=30),
            effective_from=effective_from,
        )


def confirm(sessions: sessionmaker[Session], year: int) -> None:
    with sessions() as s, s.begin():
        rosters.confirm_year(s, year, actor=ACTOR, now=T0)


def test_a_gap_in_the_next_fourteen_days_is_warned_with_a_link_to_the_roster(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person], duty: Browser
) -> None:
    confirm(sessions, 2026)
    confirm(sessions, 2027)
    keep(sessions, org, "duty_officer", effective_from=T0 - timedelta(days=30))
    assert 'id="roster-gaps"' not in duty.text("/")  # covered all fourteen days
    # The technical on-call roster starts only on 3 December: until then nobody.
    keep(sessions, org, "technical_oncall", effective_from=datetime(2026, 12, 3, 0, 30, tzinfo=UTC))
    page = duty.text("/")
    assert 'id="roster-gaps"' in page
    assert "技术值班：2026-11-27 09:00 至 2026-12-03 08:30" in page
    assert 'href="/rosters/technical_oncall?month=2026-11"' in page
    assert "值班员：" not in page  # the covered role is not listed
    live = duty.get("/live/dashboard.json").get_json()
    assert 'id="roster-gaps"' in live["panels"]["roster"]


def test_next_years_holidays_unconfirmed_are_warned_from_november(
    app: Flask, sessions: sessionmaker[Session], clock: FrozenClock, duty: Browser
) -> None:
    confirm(sessions, 2026)
    page = duty.text("/")  # 27 November 2026
    assert 'id="holiday-unconfirmed"' in page
    assert "明年（2027 年）节假日安排尚未确认" in page
    assert 'href="/rosters/holidays?year=2027"' in page
    clock.set(datetime(2026, 10, 15, 1, tzinfo=UTC))
    assert 'id="holiday-unconfirmed"' not in duty.text("/")
    clock.set(T0)
    confirm(sessions, 2027)
    assert 'id="holiday-unconfirmed"' not in duty.text("/")


def test_the_current_year_unconfirmed_is_warned_too(
    app: Flask, clock: FrozenClock, duty: Browser
) -> None:
    clock.set(datetime(2026, 3, 2, 1, tzinfo=UTC))
    page = duty.text("/?lang=en")
    assert "The holiday arrangement for 2026 is not confirmed." in page
    assert 'href="/rosters/holidays?year=2026"' in page
