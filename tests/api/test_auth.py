"""Who may call the API: bearer tokens only (issue 2, item 6), roles from positions."""

from __future__ import annotations

from sqlalchemy import select

from incidents.audit import system_actor
from incidents.org import ApiToken
from incidents.tokens import digest, revoke_token
from tests.api.conftest import Api, incident_body, services_of, web_login

PASSWORD = "correct horse battery"


def test_it_refuses_a_request_without_a_token(any_api: Api) -> None:
    reply = any_api.get("/incidents", as_=None)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "unauthorized"
    assert reply.get_json()["error"]["field"] == "Authorization"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_an_unknown_token(any_api: Api) -> None:
    reply = any_api.get("/incidents", as_=None, headers={"Authorization": "Bearer fh_nope"})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"


def test_it_refuses_a_revoked_token(api: Api) -> None:
    token = api.token("duty")
    with services_of(api.app).sessions() as s, s.begin():
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))).one()
        revoke_token(s, token_id=row.id, actor=system_actor("cli"), now=api.clock.now())
    reply = api.get("/me")
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (401, "invalid_token")


def test_it_refuses_another_authorization_scheme(api: Api) -> None:
    reply = api.get("/me", as_=None, headers={"Authorization": "Basic ZHV0eTp4"})
    assert reply.status_code == 401
    assert "Bearer" in reply.get_json()["error"]["message"]


def test_a_token_acts_as_its_person(api: Api) -> None:
    reply = api.get("/me", as_="cchead")
    assert reply.status_code == 200
    assert reply.get_json()["login"] == "cchead"


def test_it_refuses_a_session_cookie_without_a_token(any_api: Api) -> None:
    any_api.set_password("director", PASSWORD)
    assert web_login(any_api.client, "director", PASSWORD).status_code == 302
    reply = any_api.client.get("/api/v1/incidents")
    assert reply.status_code == 401
    error = reply.get_json()["error"]
    assert error["code"] == "cookie_not_accepted"
    assert error["message"].startswith("cookie authentication is not accepted on the API")


def test_a_cookie_does_not_change_who_the_token_acts_as(api: Api) -> None:
    api.set_password("director", PASSWORD)
    assert web_login(api.client, "director", PASSWORD).status_code == 302
    assert api.get("/me", as_="duty").get_json()["login"] == "duty"


def test_api_responses_set_no_session_cookie(api: Api) -> None:
    reply = api.get("/me")
    assert "Set-Cookie" not in reply.headers


def test_a_staff_member_cannot_log_an_incident(any_api: Api) -> None:
    before = any_api.counts()
    reply = any_api.post("/incidents", json=incident_body(), as_="trafstaff")
    assert reply.status_code == 403
    assert reply.get_json()["error"]["code"] == "forbidden"
    assert any_api.counts() == before


def test_a_department_head_outside_the_command_center_cannot_log_one(api: Api) -> None:
    assert api.post("/incidents", json=incident_body(), as_="trafhead").status_code == 403


def test_the_duty_officer_and_the_command_center_head_can_log(api: Api) -> None:
    assert api.post("/incidents", json=incident_body(), as_="duty").status_code == 201
    assert api.post("/incidents", json=incident_body(), as_="cchead").status_code == 201


def test_a_staff_member_cannot_edit_an_incident_they_can_see(api: Api) -> None:
    created = api.create(system_ids=[api.system_id("traffic-platform")])
    reply = api.patch(f"/incidents/{created['id']}", json={"title": "x"}, as_="trafstaff")
    assert reply.status_code == 403


def test_an_incident_outside_ones_departments_does_not_exist_for_them(any_api: Api) -> None:
    created = any_api.create(system_ids=[any_api.system_id("finance-system")])
    reply = any_api.get(f"/incidents/{created['id']}", as_="trafstaff")
    assert reply.status_code == 404
    listed = any_api.get("/incidents", as_="trafstaff").get_json()["items"]
    assert created["id"] not in [item["id"] for item in listed]


def test_a_department_sees_incidents_of_systems_it_uses(api: Api) -> None:
    created = api.create(system_ids=[api.system_id("traffic-platform")])
    assert api.get(f"/incidents/{created['id']}", as_="trafstaff").status_code == 200


def test_the_leadership_sees_every_incident(api: Api) -> None:
    created = api.create(system_ids=[api.system_id("finance-system")])
    for login in ("director", "netsec", "lgoffice", "hr"):
        assert api.get(f"/incidents/{created['id']}", as_=login).status_code == 200, login


def test_the_openapi_document_needs_no_token(api: Api) -> None:
    assert api.get("/openapi.json", as_=None).status_code == 200
