"""Administrators manage the organisation over the API (issue 2, item 6): the YAML file of
``fenghuo org export|import``, with the import's idempotence, audit and all-or-nothing."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from app.api.openapi import document
from incidents.audit import AuditEvent
from incidents.org import Department, Person
from tests.api.conftest import Api, schema_problems, services_of

YAML = "application/yaml"


def export(api: Api) -> dict[str, Any]:
    reply = api.get("/org/export", as_="admin")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    loaded: dict[str, Any] = yaml.safe_load(reply.get_data(as_text=True))
    return loaded


def as_yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def send(api: Api, text: str, *, as_: str | None = "admin", content_type: str = YAML) -> Any:
    return api.post("/org/import", data=text.encode("utf-8"), content_type=content_type, as_=as_)


def person_entry(doc: dict[str, Any], login: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in doc["people"] if p["login"] == login)
    return found


def org_counts(api: Api) -> tuple[int, int, int]:
    """(people, departments, audit events): what a refused import must leave unchanged."""
    with services_of(api.app).sessions() as s:
        people = s.scalar(select(func.count()).select_from(Person)) or 0
        depts = s.scalar(select(func.count()).select_from(Department)) or 0
        events = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return people, depts, events


def org_events(api: Api) -> list[AuditEvent]:
    with services_of(api.app).sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.kind.startswith("org."))
                .order_by(AuditEvent.seq)
            )
        )


def with_new_person_and_rename(api: Api) -> str:
    doc = export(api)
    person_entry(doc, "trafstaff")["name"] = "钱进进"
    doc["people"].append(
        {
            "login": "legalhead",
            "name": "何平",
            "positions": [
                {
                    "role": "department_head",
                    "department": "legal",
                    "from": "2026-11-01T00:00:00+08:00",
                    "title": "法制处处长",
                }
            ],
        }
    )
    return as_yaml(doc)


# --- export ----------------------------------------------------------------------------


def test_it_exports_the_organisation_as_yaml_for_an_admin(api: Api) -> None:
    reply = api.get("/org/export", as_="admin")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/yaml; charset=utf-8"
    doc = yaml.safe_load(reply.get_data(as_text=True))
    assert {p["login"] for p in doc["people"]} >= {"admin", "duty", "director", "trafstaff"}
    assert "traffic-platform" in {s["code"] for s in doc["systems"]}


def test_it_refuses_an_unknown_query_parameter_on_the_export(api: Api) -> None:
    reply = api.get("/org/export?format=json", as_="admin")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "format"


# --- import ----------------------------------------------------------------------------


def test_exporting_then_importing_changes_nothing(api: Api) -> None:
    text = api.get("/org/export", as_="admin").get_data(as_text=True)
    before = org_counts(api)
    reply = send(api, text)
    assert reply.status_code == 200
    assert reply.get_json() == {"changed": False, "created": {}, "updated": {}}
    assert org_counts(api) == before


def test_an_admin_imports_a_changed_file_and_the_change_is_visible(api: Api) -> None:
    reply = send(api, with_new_person_and_rename(api))
    assert reply.status_code == 200
    assert reply.get_json() == {
        "changed": True,
        "created": {"people": 1, "positions": 1},
        "updated": {"people": 1},
    }
    people = {p["login"]: p for p in api.get("/org/people").get_json()["items"]}
    assert people["trafstaff"]["name"] == "钱进进"
    assert people["legalhead"]["name"] == "何平"
    assert [p["role"] for p in people["legalhead"]["positions"]] == ["department_head"]


def test_every_change_of_an_import_is_audited_as_the_admin_through_the_api(api: Api) -> None:
    already = len(org_events(api))
    send(api, with_new_person_and_rename(api))
    events = org_events(api)[already:]
    assert sorted(e.kind for e in events) == [
        "org.person.created",
        "org.person.updated",
        "org.position.created",
    ]
    assert {(e.actor_login, e.source) for e in events} == {("admin", "api")}
    assert {e.actor_id for e in events} == {api.person_id("admin")}


def test_importing_the_same_file_twice_changes_nothing_the_second_time(api: Api) -> None:
    text = with_new_person_and_rename(api)
    assert send(api, text).get_json()["changed"] is True
    before = org_counts(api)
    assert send(api, text).get_json() == {"changed": False, "created": {}, "updated": {}}
    assert org_counts(api) == before


def test_it_accepts_text_yaml_too(api: Api) -> None:
    reply = send(api, with_new_person_and_rename(api), content_type="text/yaml; charset=utf-8")
    assert reply.status_code == 200
    assert reply.get_json()["changed"] is True


def test_the_import_result_matches_its_documented_schema(api: Api) -> None:
    reply = send(api, with_new_person_and_rename(api))
    documented = document()["paths"]["/org/import"]["post"]["responses"]["200"]["content"]
    ref = documented["application/json"]["schema"]["$ref"]
    assert schema_problems(reply.get_json(), ref, document()) == []


def test_the_export_is_documented_as_yaml(api: Api) -> None:
    documented = document()["paths"]["/org/export"]["get"]["responses"]["200"]["content"]
    assert list(documented) == [api.get("/org/export", as_="admin").mimetype]


# --- refusals --------------------------------------------------------------------------


def test_a_bad_file_is_refused_naming_the_field_and_nothing_is_stored(api: Api) -> None:
    doc = export(api)
    # Valid changes first (a new department, a renamed person), then one bad role: the
    # earlier changes must not survive the refusal.
    doc["departments"].append({"code": "audit", "name": "审计处", "kind": "business"})
    person_entry(doc, "trafstaff")["name"] = "钱进进"
    bad = next(i for i, p in enumerate(doc["people"]) if p["login"] == "trafhead")
    doc["people"][bad]["positions"][0]["role"] = "chief"
    before = org_counts(api)
    reply = send(api, as_yaml(doc))
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert error["field"] == f"people[{bad}].positions[0].role"
    assert error["code"] == "unknown_role"
    assert org_counts(api) == before
    names = {p["login"]: p["name"] for p in api.get("/org/people").get_json()["items"]}
    assert names["trafstaff"] == "钱进"


def test_a_file_that_is_not_yaml_is_refused_naming_the_file(api: Api) -> None:
    before = org_counts(api)
    reply = send(api, "people: [login: {")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "file"
    assert org_counts(api) == before


def test_an_empty_body_is_refused_naming_the_file(api: Api) -> None:
    reply = send(api, "")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "file"


@pytest.mark.parametrize("login", ["duty", "director", "netsec", "trafstaff"])
def test_only_an_admin_may_export(api: Api, login: str) -> None:
    reply = api.get("/org/export", as_=login)
    assert reply.status_code == 403
    assert reply.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("login", ["duty", "director", "netsec", "trafstaff"])
def test_only_an_admin_may_import(api: Api, login: str) -> None:
    text = with_new_person_and_rename(api)
    before = org_counts(api)
    reply = send(api, text, as_=login)
    assert reply.status_code == 403
    assert org_counts(api) == before


def test_both_need_a_token(api: Api) -> None:
    assert api.get("/org/export", as_=None).status_code == 401
    assert send(api, "people: []", as_=None).status_code == 401


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/yaml; charset=latin-1"]
)
def test_a_body_that_is_not_utf8_yaml_is_415(api: Api, content_type: str) -> None:
    before = org_counts(api)
    reply = send(api, with_new_person_and_rename(api), content_type=content_type)
    assert reply.status_code == 415
    assert reply.get_json()["error"]["field"] == "Content-Type"
    assert org_counts(api) == before


def test_a_body_that_is_not_utf8_at_all_is_400(api: Api) -> None:
    reply = api.post("/org/import", data=b"people: \xff\xfe", content_type=YAML, as_="admin")
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "malformed_body"


@pytest.mark.parametrize("status", [400, 403, 415, 422])
def test_the_import_documents_each_refusal(status: int) -> None:
    responses = document()["paths"]["/org/import"]["post"]["responses"]
    assert str(status) in responses


def test_a_body_over_five_megabytes_is_refused_with_413(api: Api) -> None:
    reply = send(api, "#" * (5 * 1024 * 1024 + 1))
    assert reply.status_code == 413
    assert reply.get_json()["error"]["code"] == "request_entity_too_large"
