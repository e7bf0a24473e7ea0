"""The inputs that gave a 500 before (issue 12), on both engines: each is now a 404 or
a 422 naming its field, and changes nothing."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, incident_body, web_login

TOO_BIG = 2**31  # one past PostgreSQL's integer


@pytest.mark.parametrize(
    "path",
    [
        f"/incidents/{TOO_BIG}",
        f"/incidents/{10**30}/timeline",
        f"/org/people/{TOO_BIG}",
        f"/accountability/cases/{TOO_BIG}",
    ],
)
def test_an_id_past_the_database_in_the_path_is_not_found(any_api: Api, path: str) -> None:
    assert any_api.get(path).status_code == 404


def test_an_id_past_the_database_in_the_query_is_refused_naming_it(any_api: Api) -> None:
    reply = any_api.get(f"/incidents?department_id={TOO_BIG}")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "department_id"
    assert any_api.get(f"/incidents?cursor={10**40}").get_json()["error"]["field"] == "cursor"


def test_an_id_past_the_database_in_the_body_is_refused_naming_it(any_api: Api) -> None:
    before = any_api.counts()
    reply = any_api.post("/incidents", json=incident_body(responsible_department_id=TOO_BIG))
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "responsible_department_id"
    reply = any_api.post("/incidents", json=incident_body(system_ids=[1, 2**40]))
    assert reply.get_json()["error"]["field"] == "system_ids[1]"
    assert any_api.counts() == before


def test_a_nul_character_is_refused_naming_the_field(any_api: Api) -> None:
    before = any_api.counts()
    reply = any_api.post("/incidents", json=incident_body(title="门户\x00网站"))
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "title"
    nested = any_api.post("/incidents", json=incident_body(impact={"scope": "a\x00"}))
    assert nested.get_json()["error"]["field"] == "impact.scope"
    assert any_api.get("/incidents?q=a%00b").get_json()["error"]["field"] == "q"
    assert any_api.counts() == before


def test_patching_the_location_to_null_clears_it(any_api: Api) -> None:
    created = any_api.create(location="机房")
    reply = any_api.patch(f"/incidents/{created['id']}", json={"location": None})
    assert reply.status_code == 200, reply.get_json()
    assert not reply.get_json()["location"]


def test_a_nul_character_in_a_web_form_is_refused(any_api: Api) -> None:
    reply = web_login(any_api.client, "duty\x00", "x")
    assert reply.status_code == 422


def test_the_login_form_posted_while_logged_in_is_no_server_error(any_api: Api) -> None:
    any_api.set_password("duty", "correct horse battery")
    client = any_api.client
    assert web_login(client, "duty", "correct horse battery").status_code == 302
    page = client.get("/").get_data(as_text=True)  # logged in: the form's token from a page
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    for password, status in (("correct horse battery", 302), ("wrong password", 401)):
        form = {"login": "duty", "password": password, "csrf_token": token}
        assert client.post("/login", data=form).status_code == status
