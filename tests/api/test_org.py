"""Reading the organisation: departments, people (never their hashes), positions, systems,
and who answers for what (Article 3)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import PASSWORD_FIELDS, Api


def by_code(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in items}


def test_departments_form_a_tree(api: Api) -> None:
    departments = by_code(api.get("/org/departments").get_json()["items"])
    assert departments["traffic"]["parent_id"] == departments["leadership"]["id"]
    assert departments["cc"]["kind"] == "command_center"
    assert departments["traffic"]["competent_department_id"] == departments["office"]["id"]


def test_one_department_can_be_read(api: Api) -> None:
    first = api.get("/org/departments").get_json()["items"][0]
    assert api.get(f"/org/departments/{first['id']}").get_json() == first
    assert api.get("/org/departments/999").status_code == 404


def test_people_are_listed_without_secrets(any_api: Api) -> None:
    any_api.set_password("duty", "correct horse battery")
    people = any_api.get("/org/people").get_json()["items"]
    logins = {p["login"] for p in people}
    assert {"admin", "duty", "director", "trafstaff"} <= logins
    text = any_api.get("/org/people").get_data(as_text=True)
    assert "argon2" not in text
    for person in people:
        assert not PASSWORD_FIELDS & set(person)


def test_a_person_shows_the_positions_held_now(api: Api) -> None:
    netsec = api.get(f"/org/people/{api.person_id('netsec')}").get_json()
    roles = {p["role"] for p in netsec["positions"]}
    assert roles == {"deputy_director_netsec", "leading_group_member"}
    deputy = next(p for p in netsec["positions"] if p["role"] == "deputy_director_netsec")
    assert deputy["clause"] == "3(2)"
    assert len(deputy["in_charge_of"]) == 2


def test_positions_filter_by_role(api: Api) -> None:
    heads = api.get("/org/positions?role=department_head").get_json()["items"]
    assert {p["person_id"] for p in heads} == {
        api.person_id(login) for login in ("officehead", "trafhead", "finhead")
    }


def test_positions_before_anyone_held_them_are_empty(api: Api) -> None:
    items = api.get("/org/positions?at=2020-01-01T00:00:00Z").get_json()["items"]
    assert items == []


def test_an_unknown_role_is_422(api: Api) -> None:
    reply = api.get("/org/positions?role=king")
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "role")


def test_systems_carry_owner_operator_and_users(api: Api) -> None:
    systems = by_code(api.get("/org/systems").get_json()["items"])
    departments = by_code(api.get("/org/departments").get_json()["items"])
    platform = systems["traffic-platform"]
    assert platform["owner_department_id"] == departments["traffic"]["id"]
    assert platform["operator_department_id"] == departments["cc"]["id"]
    assert platform["user_department_ids"] == [departments["traffic"]["id"]]
    assert platform["is_cii"] is True
    assert api.get(f"/org/systems/{platform['id']}").get_json() == platform


def test_the_chain_for_a_department_follows_article_3(any_api: Api) -> None:
    traffic = by_code(any_api.get("/org/departments").get_json()["items"])["traffic"]
    reply = any_api.get(f"/org/responsible?department_id={traffic['id']}")
    assert reply.status_code == 200
    chain = reply.get_json()["chain"]
    assert [(r["login"], r["clause"]) for r in chain] == [
        ("trafhead", "3(3)"),
        ("deputy", "3(2)"),
        ("netsec", "3(2)"),
        ("director", "3(1)"),
    ]


def test_the_chain_for_a_system_is_its_owners(api: Api) -> None:
    reply = api.get(f"/org/responsible?system_id={api.system_id('finance-system')}").get_json()
    assert reply["chain"][0]["login"] == "finhead"
    assert reply["system_id"] == api.system_id("finance-system")


def test_the_chain_before_anyone_held_a_post_is_empty(api: Api) -> None:
    sid = api.system_id("portal")
    reply = api.get(f"/org/responsible?system_id={sid}&at=2020-01-01T00:00:00%2B08:00")
    assert reply.get_json()["chain"] == []


def test_responsible_needs_exactly_one_subject(api: Api) -> None:
    assert api.get("/org/responsible").status_code == 422
    both = api.get("/org/responsible?department_id=1&system_id=1")
    assert both.status_code == 422
    assert api.get("/org/responsible?system_id=999").status_code == 404
