"""The duty roster on the web: the month calendar, its forms, who may use them.

The clock is frozen at 27 November 2026, 09:00 in Asia/Shanghai (``tests.conftest.T0``).
The duty officers' rotation starts on 1 November with 张晓明, 钱进, 刘文 in turn at
08:30, so 27 November (26 days on) is 刘文's and 28 November 张晓明's.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from incidents import rosters
from incidents.audit import AuditEvent, system_actor
from incidents.org import Person
from tests.conftest import T0
from tests.web.conftest import Browser, as_

ACTOR = system_actor("cli")
OFFICERS = ("duty", "trafstaff", "officehead")  # 张晓明, 钱进, 刘文


def cell(html: str, day: str) -> str:
    """The calendar cell of ``day`` (ISO date)."""
    found = re.search(rf'<td [^>]*data-day="{day}".*?</td>', html, re.S)
    assert found, f"no cell for {day}"
    return found.group(0)


def role_list(html: str, day: str, role: str) -> str:
    found = re.search(rf'<ul class="shifts" data-role="{role}">(.*?)</ul>', cell(html, day), re.S)
    assert found, f"no {role} list on {day}"
    return found.group(1)


@pytest.fixture
def rotation(sessions: sessionmaker[Session], org: dict[str, Person]) -> None:
    with sessions() as s, s.begin():
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[org[login].id for login in OFFICERS],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 11, 1),
            actor=ACTOR,
            now=datetime(2026, 10, 31, tzinfo=UTC),
        )


def overrides(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(rosters.RosterOverride)) or 0


def test_the_calendar_highlights_today_and_names_who_is_on_duty(app: Flask, rotation: None) -> None:
    html = as_(app, "duty").text("/rosters")
    today = cell(html, "2026-11-27")
    assert 'aria-current="date"' in today and "today" in today
    assert 'aria-current="date"' not in cell(html, "2026-11-26")
    assert "刘文" in role_list(html, "2026-11-27", "duty_officer")
    assert "张晓明" in role_list(html, "2026-11-28", "duty_officer")
    # The 08:30 shift is listed once, on the day it begins.
    assert "刘文" not in role_list(html, "2026-11-28", "duty_officer")
    # The roles without a roster are there, empty.
    assert role_list(html, "2026-11-27", "duty_leader").strip() == ""
    assert 'href="/rosters?month=2026-10"' in html and 'href="/rosters?month=2026-12"' in html


def test_the_calendar_marks_public_holidays_and_make_up_working_days(
    app: Flask, sessions: sessionmaker[Session], rotation: None
) -> None:
    with sessions() as s, s.begin():
        rosters.seed_holidays(s, 2026, actor=ACTOR, now=T0)
    html = as_(app, "duty").text("/rosters/duty_officer?month=2026-10")
    national_day = cell(html, "2026-10-01")
    assert 'data-holiday="holiday"' in national_day and "国庆节" in national_day
    assert 'data-holiday="workday"' in cell(html, "2026-10-10")  # a Saturday worked (调休)
    assert "data-holiday" not in cell(html, "2026-10-09")
    # No rotation was in effect before 31 October: the calendar says nobody, not a guess.
    assert "张晓明" not in role_list(html, "2026-10-01", "duty_officer")
    english = as_(app, "duty").text("/rosters/duty_officer?month=2026-10&lang=en")
    assert "National Day" in cell(english, "2026-10-01")


def test_an_override_from_the_form_is_recorded_audited_and_shown(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person], rotation: None
) -> None:
    head = as_(app, "cchead")
    reply = head.post(
        "/rosters/duty_officer/overrides",
        {
            "person_id": str(org["finhead"].id),
            "replaces_id": str(org["duty"].id),
            "starts_at": "2026-11-28T08:30",
            "ends_at": "2026-11-29T08:30",
            "reason": "病假",
        },
    )
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith("/rosters/duty_officer?month=2026-11")
    html = head.text("/rosters/duty_officer?month=2026-11")
    shown = role_list(html, "2026-11-28", "duty_officer")
    assert "冯静" in shown and "张晓明" in shown and "override" in shown  # 冯静 for 张晓明
    assert "病假" in html  # listed among the overrides to come
    with sessions() as s:
        on_duty = rosters.on_duty(s, "duty_officer", datetime(2026, 11, 28, 6, tzinfo=UTC))
        assert on_duty is not None and on_duty.login == "finhead"
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "roster.override")).one()
        assert event.actor_id == org["cchead"].id and event.source == "web"


def test_revoking_an_override_restores_the_rotation_from_now(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person], rotation: None
) -> None:
    with sessions() as s, s.begin():
        oid = rosters.add_override(
            s,
            "duty_officer",
            person_id=org["finhead"].id,
            starts_at=datetime(2026, 11, 28, 0, 30, tzinfo=UTC),
            ends_at=datetime(2026, 11, 29, 0, 30, tzinfo=UTC),
            actor=ACTOR,
            now=T0,
        ).id
    head = as_(app, "cchead")
    assert head.post(f"/rosters/duty_officer/overrides/{oid}/revoke").status_code == 302
    assert "冯静" not in role_list(head.text("/rosters"), "2026-11-28", "duty_officer")
    # Another role's page does not reach this roster's overrides.
    assert head.post(f"/rosters/duty_leader/overrides/{oid}/revoke").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field", "zh", "en"),
    [
        (
            {"starts_at": "2026-11-29T08:30", "ends_at": "2026-11-28T08:30"},
            "ends_at",
            "必须晚于开始时间",
            "must be after the start",
        ),
        ({"person_id": "987654"}, "person_id", "未知或已停用的人员", "unknown or inactive person"),
        ({"starts_at": ""}, "starts_at", "请输入日期和时间", "Enter a date and time."),
    ],
)
def test_a_refused_override_names_the_field_in_the_readers_language_and_writes_nothing(
    app: Flask,
    sessions: sessionmaker[Session],
    org: dict[str, Person],
    rotation: None,
    fields: dict[str, str],
    field: str,
    zh: str,
    en: str,
) -> None:
    form = {
        "person_id": str(org["finhead"].id),
        "starts_at": "2026-11-28T08:30",
        "ends_at": "2026-11-29T08:30",
        **fields,
    }
    head = as_(app, "cchead")
    for lang, words in (("zh_CN", zh), ("en", en)):
        reply = head.post(f"/rosters/duty_officer/overrides?lang={lang}", form)
        assert reply.status_code == 422
        html = reply.get_data(as_text=True)
        error = re.search(rf'id="override-{field}-error">([^<]*)<', html)
        assert error and words in error.group(1), (lang, error)
        assert f'aria-describedby="override-{field}-error"' in html
        assert 'value="2026-11-28T08:30"' in html or field == "starts_at"  # the form comes back
    assert overrides(sessions) == 0
    with sessions() as s:
        assert not s.scalars(select(AuditEvent).where(AuditEvent.kind == "roster.override")).all()


def test_a_refused_rotation_names_the_person_box_and_creates_no_roster(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person]
) -> None:
    reply = as_(app, "cchead").post(
        "/rosters/technical_oncall/rotation",
        {
            "people": [str(org["duty"].id), "987654"],
            "handoff": "08:30",
            "pattern": "24h",
            "period": "weekly",
            "anchor_date": "2026-11-30",
        },
    )
    assert reply.status_code == 422
    assert 'id="rotation-people-1-error"' in reply.get_data(as_text=True)
    with sessions() as s:
        assert rosters.roster_for(s, "technical_oncall") is None


def test_a_rotation_from_the_form_fills_the_calendar(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person]
) -> None:
    head = as_(app, "cchead")
    reply = head.post(
        "/rosters/duty_leader/rotation",
        {
            "people": [str(org["cchead"].id), str(org["netsec"].id), ""],
            "handoff": "08:30",
            "pattern": "24h",
            "period": "weekly",
            "anchor_date": "2026-11-23",
        },
    )
    assert reply.status_code == 302
    html = head.text("/rosters?month=2026-12")
    assert "王志强" in role_list(html, "2026-12-03", "duty_leader")  # week of 30 Nov
    assert "李建国" in role_list(html, "2026-12-10", "duty_leader")  # week of 7 Dec
    # In effect from now (09:00 on the 27th), not from the shift that began at 08:30.
    today = role_list(head.text("/rosters"), "2026-11-27", "duty_leader")
    assert "李建国" in today and ">09:00<" in today
    with sessions() as s:
        shift = rosters.shift_at(s, "duty_leader", datetime(2026, 11, 30, 1, tzinfo=UTC))
        assert shift is not None and shift.person_id == org["netsec"].id


def test_a_swap_from_the_form_exchanges_two_shifts(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person], rotation: None
) -> None:
    head = as_(app, "cchead")
    reply = head.post(
        "/rosters/duty_officer/swaps",
        {"first": "2026-11-28T12:00", "second": "2026-11-29T12:00", "reason": "换班"},
    )
    assert reply.status_code == 302
    html = head.text("/rosters/duty_officer")
    assert "钱进" in role_list(html, "2026-11-28", "duty_officer")
    assert "张晓明" in role_list(html, "2026-11-29", "duty_officer")
    assert overrides(sessions) == 2
    same = head.post(
        "/rosters/duty_officer/swaps",
        {"first": "2026-11-28T12:00", "second": "2026-11-28T13:00"},
    )
    assert same.status_code == 422 and 'id="swap-second-error"' in same.get_data(as_text=True)
    assert overrides(sessions) == 2


def test_people_who_do_not_keep_the_roster_see_it_read_only_and_cannot_post(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person], rotation: None
) -> None:
    with sessions() as s, s.begin():
        admin = s.scalars(select(Person).where(Person.login == "admin")).one()
        admin.password_hash = s.scalars(
            select(Person.password_hash).where(Person.login == "duty")
        ).one()
    for login in ("duty", "trafstaff"):
        viewer = as_(app, login)
        html = viewer.text("/rosters/duty_officer")
        assert "刘文" in html
        assert 'id="override-form"' not in html and "/revoke" not in html
        form = {
            "person_id": str(org["finhead"].id),
            "starts_at": "2026-11-28T08:30",
            "ends_at": "2026-11-29T08:30",
        }
        assert viewer.post("/rosters/duty_officer/overrides", form).status_code == 403
        assert viewer.post("/rosters/duty_officer/swaps", {}).status_code == 403
        assert viewer.post("/rosters/duty_officer/rotation", {}).status_code == 403
        assert viewer.post("/rosters/holidays/2027/confirm").status_code == 403
    assert 'id="override-form"' in as_(app, "cchead").text("/rosters/duty_officer")
    assert 'id="override-form"' in as_(app, "admin").text("/rosters/duty_officer")


def test_the_calendar_refuses_a_malformed_month_and_an_unknown_role(duty: Browser) -> None:
    reply = duty.get("/rosters?month=2026-13")
    assert reply.status_code == 422
    assert duty.get("/rosters/chef").status_code == 404


def test_the_holiday_table_is_seeded_edited_and_confirmed_from_the_page(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    head = as_(app, "cchead")
    assert head.post("/rosters/holidays/2026/seed").status_code == 302
    html = head.text("/rosters/holidays?year=2026")
    assert 'data-day="2026-10-01" data-kind="holiday"' in html
    assert 'data-confirmed="0"' in html
    # 2027 is not in the library: the admin enters the days by hand.
    reply = head.post("/rosters/holidays/2027/day", {"day": "2027-02-06", "kind": "holiday"})
    assert reply.status_code == 302
    bad = head.post("/rosters/holidays/2027/day", {"day": "2026-02-06", "kind": "holiday"})
    assert bad.status_code == 422 and 'id="day-day-error"' in bad.get_data(as_text=True)
    assert head.post("/rosters/holidays/2027/confirm").status_code == 302
    html = head.text("/rosters/holidays?year=2027")
    assert 'data-confirmed="1"' in html and 'data-day="2027-02-06"' in html
    with sessions() as s:
        assert rosters.holiday_kind(s, date(2027, 2, 6)) == "holiday"
        assert rosters.holiday_kind(s, date(2026, 2, 6)) is None
        state = s.get(rosters.HolidayYear, 2027)
        assert state is not None and state.confirmed


def test_the_roster_is_in_the_main_navigation(duty: Browser) -> None:
    assert 'href="/rosters"' in duty.text("/")


def test_day_and_night_shifts_hand_off_twelve_hours_apart_unless_told(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person]
) -> None:
    head = as_(app, "cchead")
    form = {
        "people": [str(org["duty"].id), str(org["trafstaff"].id)],
        "handoff": "08:00",
        "pattern": "day_night",
        "period": "daily",
        "anchor_date": "2026-11-27",
    }
    assert head.post("/rosters/technical_oncall/rotation", form).status_code == 302
    html = head.text("/rosters/technical_oncall?month=2026-12")
    day = role_list(html, "2026-12-01", "technical_oncall")
    assert ">08:00<" in day and ">20:00<" in day
    with sessions() as s:
        roster = rosters.roster_for(s, "technical_oncall")
        assert roster is not None
        rotation = rosters.rotation_at(s, roster.id, T0)
        assert rotation is not None and rotation.handoffs == "08:00,20:00"


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(
    app: Flask, sessions: sessionmaker[Session], org: dict[str, Person], rotation: None
) -> None:
    head = as_(app, "cchead")
    reply = head.client.post(
        "/rosters/duty_officer/overrides",
        data={
            "person_id": str(org["finhead"].id),
            "starts_at": "2026-11-28T08:30",
            "ends_at": "2026-11-29T08:30",
        },
    )
    assert reply.status_code == 400
    assert overrides(sessions) == 0
