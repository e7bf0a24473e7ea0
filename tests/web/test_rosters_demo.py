"""The demo organisation's duty roster: what a new user sees after ``make run``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.demo.rosters import seed_demo_rosters
from incidents import rosters
from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.web.conftest import Browser
from tests.web.test_rosters import role_list

ACTOR = system_actor("cli")


def seed(sessions: sessionmaker[Session], now: datetime) -> None:
    with sessions() as s, s.begin():
        seed_demo_rosters(s, actor=ACTOR, now=now)


def test_the_demo_fills_every_day_of_the_month_for_every_role(
    app: Flask, sessions: sessionmaker[Session], clock: FrozenClock, duty: Browser
) -> None:
    seed(sessions, clock.now())
    html = duty.text("/rosters")
    for day in range(1, 31):
        for role in rosters.ROLES:
            listed = role_list(html, f"2026-11-{day:02d}", role)
            assert '<span class="person">' in listed, (day, role)
            assert "nobody" not in listed and "无人值班" not in listed
    # Four duty officers in turn from 1 November: 27 November is the third's (刘洋).
    assert "刘洋" in role_list(html, "2026-11-27", "duty_officer")
    # The leader changes on Mondays, in turn from the week of 26 October (李建国): 王志强
    # the week of 23 November, 赵立新 from Monday the 30th at 08:30.
    assert "王志强" in role_list(html, "2026-11-29", "duty_leader")
    assert "赵立新" in role_list(html, "2026-11-30", "duty_leader")
    assert "李建国" in role_list(html, "2026-11-16", "duty_leader")
    # One stand-in, three days on.
    assert "陈静" in role_list(html, "2026-11-30", "duty_officer")
    with sessions() as s:
        start = clock.now()
        assert rosters.coverage_gaps(s, start, start + timedelta(days=14)) == []
        on_duty = rosters.on_duty(s, "duty_officer", datetime(2026, 11, 27, 3, tzinfo=UTC))
        assert on_duty is not None and on_duty.login == "duty3"


def test_the_demo_seeds_this_years_holidays_confirmed_and_leaves_next_year_to_confirm(
    app: Flask, sessions: sessionmaker[Session], clock: FrozenClock, duty: Browser
) -> None:
    seed(sessions, clock.now())
    with sessions() as s:
        this_year = s.get(rosters.HolidayYear, 2026)
        next_year = s.get(rosters.HolidayYear, 2027)
        assert this_year is not None and this_year.confirmed
        assert next_year is not None and not next_year.confirmed
        assert rosters.holiday_kind(s, datetime(2026, 10, 1).date()) == "holiday"
    page = duty.text("/")
    assert 'id="holiday-unconfirmed"' in page and "2027" in page
    assert 'id="roster-gaps"' not in page


def test_seeding_the_demo_again_changes_nothing(
    app: Flask, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    seed(sessions, clock.now())
    seed(sessions, clock.now() + timedelta(hours=1))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(rosters.RosterRotation)) == 3
        assert s.scalar(select(func.count()).select_from(rosters.RosterOverride)) == 1
        logins = set(s.scalars(select(Person.login)))
        assert {"duty2", "duty3", "duty4", "tech1", "tech2"} <= logins
