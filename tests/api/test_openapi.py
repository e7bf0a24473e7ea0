"""The OpenAPI 3.1 document, generated from the models (``app.api.contract``), describes
every route the server has and only those, is valid OpenAPI 3.1, and the server's real
responses match its schemas (issue 2 item 7, issue 14 item 2), checked with ``jsonschema``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from app.api.openapi import document, document_for
from incidents.grading import GRADES, IMPACT_FIELDS
from incidents.inputs import CREATE_FIELDS, PATCH_FIELDS
from incidents.lifecycle import STATUSES
from incidents.models import CATEGORIES
from incidents.reports import ART7_ITEMS, ART8_ITEMS, RANSOM_FIELDS, REPORT_KINDS
from tests.api.conftest import Api, schema_problems

PREFIX = "/api/v1"
METHODS = {"get", "post", "patch", "put", "delete"}


def served_operations(app: Flask) -> set[tuple[str, str]]:
    """(method, OpenAPI path) for every API route in Flask's URL map."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len(PREFIX) :])
        for method in rule.methods or ():
            if method.lower() in METHODS:
                found.add((method.lower(), path))
    return found


def documented_operations(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document_for(app)["paths"].items()
        for method in item
        if method in METHODS
    }


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = document()["components"]["schemas"][name]
    return found


def check(value: Any, name: str) -> None:
    problems = schema_problems(value, name, document())
    assert not problems, "\n".join(problems)


def response_schema(path: str, method: str, status: int) -> str:
    content = document()["paths"][path][method]["responses"][str(status)]["content"]
    ref: str = content["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def test_every_route_is_documented(app: Flask) -> None:
    missing = served_operations(app) - documented_operations(app)
    assert not missing, f"routes without documentation: {sorted(missing)}"


def test_every_documented_operation_exists(app: Flask) -> None:
    extra = documented_operations(app) - served_operations(app)
    assert not extra, f"documented but not served: {sorted(extra)}"


def test_the_served_document_is_openapi_3_1(api: Api) -> None:
    served = api.get("/openapi.json", as_=None).get_json()
    assert served["openapi"].startswith("3.1")
    assert served == document_for(api.app)


def test_every_reference_resolves(app: Flask) -> None:
    text = str(document_for(app))
    names = set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text))
    assert names <= set(document()["components"]["schemas"])


def test_every_component_is_named_after_its_model(app: Flask) -> None:
    # Two models of one name in two modules would be qualified by pydantic
    # (app__api__x__Name) and one would shadow the other's documentation: reuse the
    # shared model (app.api.shapes) or rename one.
    names = document_for(app)["components"]["schemas"]
    qualified = sorted(name for name in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name))
    assert not qualified, f"model names that collide: {qualified}"


def test_every_operation_has_an_id_and_a_documented_error_shape(app: Flask) -> None:
    ids = []
    for item in document_for(app)["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            ids.append(op["operationId"])
            for status, reply in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = reply["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Error")
    assert len(ids) == len(set(ids))


def test_the_impact_schema_is_generated_from_the_impact_fields() -> None:
    impact = schema("Impact")
    assert list(impact["properties"]) == list(IMPACT_FIELDS)
    assert impact["properties"]["site_class"]["enum"] == list(IMPACT_FIELDS["site_class"].choices)
    assert impact["properties"]["city_population_share"]["maximum"] == 100
    assert schema("ImpactInput").get("required", []) == []


def test_the_report_items_are_those_of_articles_7_and_8() -> None:
    items = schema("ReportItems")["properties"]
    assert set(ART7_ITEMS) | set(ART8_ITEMS) <= set(items)
    ransom = next(option for option in items["ransom"]["anyOf"] if "$ref" in option)
    assert set(schema(ransom["$ref"].rsplit("/", 1)[1])["properties"]) == set(RANSOM_FIELDS)
    assert schema("ReportCreate")["properties"]["kind"]["enum"] == list(REPORT_KINDS)


def test_the_enums_are_the_codes_constants() -> None:
    props = schema("Incident")["properties"]
    assert props["grade"]["enum"] == list(GRADES)
    assert props["category"]["enum"] == list(CATEGORIES)
    assert props["status"]["enum"] == list(STATUSES)


def test_the_input_schemas_accept_exactly_the_parsers_fields() -> None:
    assert set(schema("IncidentCreate")["properties"]) == CREATE_FIELDS
    assert set(schema("IncidentPatch")["properties"]) == PATCH_FIELDS
    assert set(schema("IncidentCreate")["required"]) == {"title", "category", "detected_at"}


def test_the_checker_catches_an_undocumented_field(api: Api) -> None:
    # The checker itself must be able to fail, or the tests below prove nothing.
    body = api.create()
    body["surprise"] = 1
    with pytest.raises(AssertionError, match="'surprise' was unexpected"):
        check(body, "Incident")
    body.pop("surprise")
    body["detected_at"] = "2026-11-27T08:00:00"  # no zone: not an RFC 3339 date-time
    with pytest.raises(AssertionError, match="date-time"):
        check(body, "Incident")


def test_a_created_incident_matches_its_schema(api: Api) -> None:
    reply = api.post(
        "/incidents",
        json={
            "title": "交通平台中断",
            "category": "equipment_failure",
            "detected_at": "2026-11-27T08:00:00+08:00",
            "occurred_at": "2026-11-27T07:50:00+08:00",
            "system_ids": [api.system_id("traffic-platform")],
            "handling_lead_id": api.person_id("cchead"),
            "impact": {"system_outage_minutes": 90, "people_affected": 200_000},
        },
    )
    assert response_schema("/incidents", "post", reply.status_code) == "Incident"
    check(reply.get_json(), "Incident")


def test_list_get_patch_and_timeline_match_their_schemas(api: Api) -> None:
    created = api.create(impact={"economic_loss_cny": 5_000_000})
    iid = created["id"]
    check(api.get("/incidents").get_json(), response_schema("/incidents", "get", 200))
    check(
        api.get(f"/incidents/{iid}").get_json(),
        response_schema("/incidents/{incident_id}", "get", 200),
    )
    check(
        api.patch(f"/incidents/{iid}", json={"location": "B"}).get_json(),
        response_schema("/incidents/{incident_id}", "patch", 200),
    )
    check(
        api.get(f"/incidents/{iid}/timeline").get_json(),
        response_schema("/incidents/{incident_id}/timeline", "get", 200),
    )


def test_organisation_responses_match_their_schemas(api: Api) -> None:
    for path in ("/org/departments", "/org/people", "/org/positions", "/org/systems"):
        check(api.get(path).get_json(), response_schema(path, "get", 200))
    department = api.get("/org/departments").get_json()["items"][0]["id"]
    check(api.get(f"/org/departments/{department}").get_json(), "Department")
    check(api.get(f"/org/people/{api.person_id('netsec')}").get_json(), "Person")
    check(api.get(f"/org/systems/{api.system_id('portal')}").get_json(), "System")
    check(
        api.get(f"/org/responsible?system_id={api.system_id('portal')}").get_json(),
        response_schema("/org/responsible", "get", 200),
    )


def test_grading_and_me_match_their_schemas(api: Api) -> None:
    check(api.get("/grading/fields").get_json(), "GradingFields")
    reply = api.post(
        "/grading/suggest",
        json={
            "impact": {
                "defacement": True,
                "site_class": "provincial",
                "defacement_views": 2_000_000,
            },
            "grade": "major",
        },
    )
    check(reply.get_json(), response_schema("/grading/suggest", "post", 200))
    check(api.get("/me").get_json(), "Me")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/incidents", {"as_": None}, 401),
        ("post", "/incidents", {"json": {"title": 1}}, 422),
        ("post", "/incidents", {"data": "{", "content_type": "application/json"}, 400),
        ("post", "/incidents", {"data": "x", "content_type": "text/plain"}, 415),
        ("post", "/incidents", {"json": {}, "as_": "trafstaff"}, 403),
        ("get", "/incidents/999", {}, 404),
    ],
)
def test_errors_match_the_error_schema(
    api: Api, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    reply = api.call(method.upper(), path, **kwargs)
    assert reply.status_code == status
    check(reply.get_json(), "Error")
    documented = document()["paths"][
        "/incidents" if path == "/incidents" else "/incidents/{incident_id}"
    ][method]["responses"]
    assert str(status) in documented


def test_action_and_clock_responses_match_their_schemas(any_api: Api) -> None:
    api = any_api
    created = api.create(
        grade="major", grade_reason="研判", system_ids=[api.system_id("traffic-platform")]
    )
    base = f"/incidents/{created['id']}"
    item = "/incidents/{incident_id}"

    def post(action: str, body: dict[str, Any] | None = None, as_: str = "duty") -> None:
        reply = api.post(f"{base}/{action}", json=body or {}, as_=as_)
        assert reply.status_code in (200, 201), reply.get_json()
        check(reply.get_json(), response_schema(f"{item}/{action}", "post", reply.status_code))

    post("escalate", as_="cchead")
    post("acknowledge", as_="netsec")
    post(
        "reports",
        {
            "kind": "initial",
            "items": {"entity": "交通平台", "occurrence": "中断", "obligation": "internal"},
        },
    )
    post("grade", {"grade": "especially_major", "reason": "扩大"})
    post("start-handling")
    api.clock.advance(hours=5)  # the external report is now overdue
    post(
        "reports",
        {
            "kind": "initial",
            "items": {"entity": "交通平台", "occurrence": "中断"},
            "late_reason": "联系不上网信部门",
        },
    )
    post("resolve", {"summary": "恢复"})
    post(
        "reports",
        {
            "kind": "final",
            "items": {
                key: "…"
                for key in (
                    "cause",
                    "measures",
                    "harm",
                    "accountability",
                    "rectification",
                    "lessons",
                )
            },
        },
    )
    post("close")
    post("reopen", {"reason": "复发"})
    post("transitions", {"to": "handling"})
    check(api.get(f"{base}/reports").get_json(), response_schema(f"{item}/reports", "get", 200))
    check(
        api.get(f"{base}/obligations").get_json(),
        response_schema(f"{item}/obligations", "get", 200),
    )
    check(
        api.get(f"{base}/escalation").get_json(), response_schema(f"{item}/escalation", "get", 200)
    )
    check(api.get("/stats", as_="director").get_json(), response_schema("/stats", "get", 200))


def test_the_document_validates_with_openapi_spec_validator(app: Flask) -> None:
    from openapi_spec_validator import validate

    validate(document_for(app))  # raises on any OpenAPI 3.1 violation


def test_the_generated_operations_refuse_an_unknown_field_naming_it(api: Api) -> None:
    reply = api.post("/grading/suggest", json={"impact": {}, "bogus": 1})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "bogus"
    reply = api.post("/grading/suggest", json={"grade": 3})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "grade"


def test_without_the_accountability_face_its_routes_are_left_out() -> None:
    from openapi_spec_validator import validate

    plain = document(frozenset({"api"}))
    tags = {tag for item in plain["paths"].values() for op in item.values() for tag in op["tags"]}
    assert "accountability" not in tags and "/cases/{case_id}" not in plain["paths"]
    assert "Case" not in plain["components"]["schemas"]
    assert "/incidents/{incident_id}" in plain["paths"]
    validate(plain)


def test_a_query_list_takes_repeats_and_commas(api: Api) -> None:
    api.create()
    both = api.get("/incidents?status=new,handling&status=closed").get_json()["items"]
    assert [i["status"] for i in both] == ["new"]
    reply = api.get("/incidents?status=new,done")
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "status")
    assert reply.get_json()["error"]["code"] == "choice"
