"""API input errors: 422 naming the field and nothing stored; 400 for a body that is not
JSON, 415 for one that is not sent as JSON (issue 2, item 7)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest import Api, incident_body

# (what is wrong, body, the field the error must name)
BAD_BODIES: list[tuple[str, dict[str, Any], str | None]] = [
    ("unknown field", incident_body(colour="red"), "colour"),
    ("title of the wrong type", incident_body(title=5), "title"),
    ("empty title", incident_body(title="  "), "title"),
    ("missing title", {k: v for k, v in incident_body().items() if k != "title"}, "title"),
    ("bad category", incident_body(category="virus"), "category"),
    ("category of the wrong type", incident_body(category=["malware"]), "category"),
    ("bad grade", incident_body(grade="critical"), "grade"),
    (
        "detection time without a zone",
        incident_body(detected_at="2026-11-27T08:30:00"),
        "detected_at",
    ),
    ("detection time that is no time", incident_body(detected_at="yesterday"), "detected_at"),
    (
        "detection in the future",
        incident_body(detected_at="2026-11-28T08:30:00+08:00"),
        "detected_at",
    ),
    (
        "occurrence after detection",
        incident_body(occurred_at="2026-11-27T08:45:00+08:00"),
        "occurred_at",
    ),
    ("system ids not a list", incident_body(system_ids=3), "system_ids"),
    ("a system id that is a string", incident_body(system_ids=[1, "2"]), "system_ids[1]"),
    ("a system that does not exist", incident_body(system_ids=[1, 999]), "system_ids[1]"),
    (
        "a department that does not exist",
        incident_body(responsible_department_id=999),
        "responsible_department_id",
    ),
    ("a boolean for an id", incident_body(handling_lead_id=True), "handling_lead_id"),
    ("impact not an object", incident_body(impact=[1]), "impact"),
    ("unknown impact fact", incident_body(impact={"hackers": 3}), "impact.hackers"),
    (
        "impact fact of the wrong type",
        incident_body(impact={"people_affected": "many"}),
        "impact.people_affected",
    ),
    (
        "negative impact fact",
        incident_body(impact={"economic_loss_cny": -1}),
        "impact.economic_loss_cny",
    ),
    ("bad impact enum", incident_body(impact={"data_involved": "secret"}), "impact.data_involved"),
    (
        "share over 100",
        incident_body(impact={"city_population_share": 101}),
        "impact.city_population_share",
    ),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [(body, field) for _, body, field in BAD_BODIES],
    ids=[case for case, _, _ in BAD_BODIES],
)
def test_a_bad_incident_is_refused_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    before = api.counts()
    reply = api.post("/incidents", json=body)
    assert reply.status_code == 422, reply.get_json()
    error = reply.get_json()["error"]
    # A stable code of the domain's (issue 14: codes, not sentences), never the catch-all.
    assert re.fullmatch(r"[a-z0-9_.]+", error["code"]) and error["code"] != "internal"
    assert error["field"] == field
    assert error["message"]
    assert api.counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (incident_body(colour="red"), "colour"),
        (incident_body(category="virus"), "category"),
        (incident_body(impact={"people_affected": "many"}), "impact.people_affected"),
        (incident_body(system_ids=[999]), "system_ids[0]"),
    ],
    ids=["unknown field", "bad enum", "wrong type", "missing reference"],
)
def test_nothing_is_stored_on_either_engine(any_api: Api, body: dict[str, Any], field: str) -> None:
    before = any_api.counts()
    reply = any_api.post("/incidents", json=body)
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, field)
    assert any_api.counts() == before


def test_a_body_that_is_not_json_is_400(any_api: Api) -> None:
    before = any_api.counts()
    reply = any_api.post("/incidents", data='{"title": "x",', content_type="application/json")
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "malformed_json"
    assert any_api.counts() == before


def test_nan_is_not_json(api: Api) -> None:
    body = '{"impact": {"people_affected": NaN}}'
    reply = api.post("/grading/suggest", data=body, content_type="application/json")
    assert reply.status_code == 400


def test_an_empty_body_is_400(api: Api) -> None:
    reply = api.post("/incidents", data="", content_type="application/json")
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "empty_body"


def test_a_form_encoded_body_is_415(any_api: Api) -> None:
    before = any_api.counts()
    reply = any_api.post("/incidents", data={"title": "x"})
    assert reply.status_code == 415
    assert reply.get_json()["error"]["field"] == "Content-Type"
    assert any_api.counts() == before


def test_json_sent_as_text_is_415(api: Api) -> None:
    reply = api.post("/incidents", data='{"title": "x"}', content_type="text/plain")
    assert reply.status_code == 415


def test_a_body_that_is_a_list_is_422(api: Api) -> None:
    reply = api.post("/incidents", json=[incident_body()])
    assert reply.status_code == 422


def test_an_unknown_query_parameter_is_422(api: Api) -> None:
    reply = api.get("/incidents?stauts=new")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "stauts"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "status"),
        ("grade=critical", "grade"),
        ("category=virus", "category"),
        ("since=yesterday", "since"),
        ("since=2026-11-27T08:00:00", "since"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=abc", "cursor"),
        ("open=perhaps", "open"),
    ],
)
def test_a_bad_filter_is_422_naming_it(api: Api, query: str, field: str) -> None:
    reply = api.get(f"/incidents?{query}")
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["error"]["field"] == field


def test_a_bad_patch_changes_nothing(any_api: Api) -> None:
    created = any_api.create()
    before = any_api.counts()
    reply = any_api.patch(f"/incidents/{created['id']}", json={"title": "新标题", "grade": "major"})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "grade"  # the grade has its own endpoint
    assert any_api.counts() == before
    assert any_api.get(f"/incidents/{created['id']}").get_json()["title"] == created["title"]


def test_a_patch_with_a_wrong_type_names_it(api: Api) -> None:
    created = api.create()
    reply = api.patch(f"/incidents/{created['id']}", json={"description": 12})
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "description")


def test_a_bad_status_is_422_and_an_illegal_transition_409(api: Api) -> None:
    created = api.create()
    path = f"/incidents/{created['id']}/transitions"
    bad = api.post(path, json={"to": "done"})
    assert (bad.status_code, bad.get_json()["error"]["field"]) == (422, "to")
    before = api.counts()
    illegal = api.post(path, json={"to": "closed"})
    assert illegal.status_code == 409
    assert illegal.get_json()["error"]["code"] == "illegal_transition"
    assert api.counts() == before


def test_a_regrade_without_a_reason_is_422(api: Api) -> None:
    created = api.create()
    reply = api.post(f"/incidents/{created['id']}/grade", json={"grade": "major"})
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "reason")


def test_a_regrade_to_an_unknown_grade_is_422(api: Api) -> None:
    created = api.create()
    reply = api.post(f"/incidents/{created['id']}/grade", json={"grade": "huge", "reason": "r"})
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "grade")


def test_an_unknown_field_in_an_action_body_is_422(api: Api) -> None:
    created = api.create()
    reply = api.post(f"/incidents/{created['id']}/acknowledge", json={"note": "seen"})
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "note")


def test_a_suggestion_request_with_a_bad_fact_is_422(api: Api) -> None:
    reply = api.post("/grading/suggest", json={"impact": {"cii": "yes"}})
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "impact.cii")


def test_an_unknown_route_is_a_json_404(api: Api) -> None:
    reply = api.get("/incidentz")
    assert reply.status_code == 404
    assert reply.get_json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(api: Api) -> None:
    reply = api.call("DELETE", "/incidents")
    assert reply.status_code == 405
    assert "error" in reply.get_json()
