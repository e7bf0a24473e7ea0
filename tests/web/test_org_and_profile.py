"""The organisation pages and the profile: positions with history, systems with their
three parties, the language a person reads in."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from incidents.clock import FrozenClock
from incidents.org import Department, Person, Position, System
from tests.web.conftest import Browser


def test_the_departments_page_shows_the_tree_with_heads(duty: Browser) -> None:
    page = duty.text("/org")
    assert "交通管理处" in page
    assert "孙伟" in page  # the traffic division's head


def test_a_person_page_shows_earlier_positions_with_their_dates(
    duty: Browser, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    with sessions() as s, s.begin():
        person = s.scalars(select(Person).where(Person.login == "trafstaff")).one()
        finance = s.scalars(select(Department).where(Department.code == "finance")).one()
        s.add(
            Position(
                person_id=person.id,
                role="staff",
                department_id=finance.id,
                title="出纳",
                valid_from=clock.now() - timedelta(days=900),
                valid_until=clock.now() - timedelta(days=400),
            )
        )
        person_id = person.id
    page = duty.text(f"/org/people/{person_id}")
    assert "出纳" in page
    assert "财务装备处" in page


def test_a_system_page_names_owner_operator_and_users(
    duty: Browser, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        portal = s.scalars(select(System.id).where(System.code == "portal")).one()
    page = duty.text(f"/org/systems/{portal}")
    for department in ("局办公室", "指挥中心", "交通管理处", "财务装备处"):
        assert department in page
    assert "3(1)" in page  # the director at the top of the chain


def test_the_profile_keeps_a_block_for_telegram(duty: Browser) -> None:
    assert 'id="telegram"' in duty.text("/profile")


def test_choosing_english_on_the_profile_sticks_to_the_person(
    app: Flask, duty: Browser, sessions: sessionmaker[Session]
) -> None:
    reply = duty.post("/profile/language", {"language": "en", "next": "/incidents?lang=zh_CN"})
    assert reply.headers["Location"] == "/incidents"
    assert 'lang="en"' in duty.text("/")
    with sessions() as s:
        assert s.scalars(select(Person.language).where(Person.login == "duty")).one() == "en"


def test_an_unknown_language_is_refused(duty: Browser) -> None:
    assert duty.post("/profile/language", {"language": "fr"}).status_code == 422


def test_the_pages_are_chinese_by_default(duty: Browser) -> None:
    page = duty.text("/")
    assert '<html lang="zh-CN">' in page
    assert "指挥中心" in page
