"""Least privilege on people data (issue 12): email, phone, language and the admin flag
are for admins and the person; everyone else sees names and positions."""

from __future__ import annotations

from sqlalchemy import select

from incidents.org import Person
from tests.api.conftest import Api, services_of
from tests.web.conftest import Browser

PRIVATE = {"email", "phone", "language", "is_admin"}


def _admin_login(api: Api) -> str:
    with services_of(api.app).sessions() as s:
        login = s.scalars(select(Person.login).where(Person.is_admin.is_(True))).first()
    assert login is not None
    return login


def test_a_colleague_sees_names_and_positions_only(api: Api) -> None:
    reply = api.get("/org/people", as_="trafstaff")
    assert reply.status_code == 200, reply.get_json()
    people = reply.get_json()["items"]
    others = [p for p in people if p["login"] != "trafstaff"]
    assert others and all(not (PRIVATE & set(p)) for p in others)
    assert all({"name", "positions"} <= set(p) for p in others)
    one = api.get(f"/org/people/{api.person_id('duty')}", as_="trafstaff").get_json()
    assert not PRIVATE & set(one)


def test_the_person_sees_their_own_details(api: Api) -> None:
    me = api.get(f"/org/people/{api.person_id('trafstaff')}", as_="trafstaff").get_json()
    assert set(me) >= PRIVATE


def test_an_admin_sees_everyones_details(api: Api) -> None:
    people = api.get("/org/people", as_=_admin_login(api)).get_json()["items"]
    assert all(set(p) >= PRIVATE for p in people)


def test_the_web_person_page_hides_contact_details_from_colleagues(api: Api) -> None:
    api.set_password("trafstaff", "correct horse battery")
    with services_of(api.app).sessions() as s, s.begin():
        duty = s.scalars(select(Person).where(Person.login == "duty")).one()
        duty.email, duty_id = "duty@example.gov.cn", duty.id
        staff_id = s.scalars(select(Person.id).where(Person.login == "trafstaff")).one()
    browser = Browser(api.app)
    assert browser.login("trafstaff", "correct horse battery").status_code == 302
    assert "duty@example.gov.cn" not in browser.text(f"/org/people/{duty_id}")
    assert "Contact" in browser.text(f"/org/people/{staff_id}?lang=en")
