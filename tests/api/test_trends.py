"""``GET /api/v1/trends``: the trends page's figures as JSON, declared in the document."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from accountability import trends
from app.api.openapi import document
from escalation.trends import Period
from incidents.org import Person
from tests.api.conftest import Api, schema_problems, services_of
from tests.web.trends_seed import seed_year


def test_it_answers_the_figures_of_the_period_as_the_queries_count_them(
    app: Flask, org: dict[str, Person], api: Api
) -> None:
    seed_year(app, org, months=3)
    reply = api.get("/trends?from=2026-09&to=2026-11")
    assert reply.status_code == 200
    body = reply.get_json()
    services = services_of(app)
    with services.sessions() as s:
        want = trends.figures(s, Period(date(2026, 9, 1), date(2026, 11, 1)), services.policy.tz)
    assert body == want
    assert body["from"] == "2026-09" and body["months"] == ["2026-09", "2026-10", "2026-11"]
    assert sum(body["totals"]["incidents"].values()) > 0
    assert body["totals"]["breaches"] > 0
    assert set(body["cases_opened"][0]) == {"0", "1", "2", "3", "4", "none"}
    assert not schema_problems(body, "Trends", document())


def test_both_engines_answer_the_same_figures(
    any_app: Flask, any_org: dict[str, Person], any_api: Api
) -> None:
    seed_year(any_app, any_org, months=2)
    body = any_api.get("/trends?from=2026-10&to=2026-11").get_json()
    assert body["months"] == ["2026-10", "2026-11"]
    assert body["totals"]["incidents"] == {
        "general": 3,
        "relatively_major": 3,
        "major": 1,
        "especially_major": 0,
    }
    assert body["acknowledge"]["total"]["count"] == 7
    assert body["totals"]["reports"]["late"] > 0


def test_by_default_it_answers_the_twelve_months_up_to_now(api: Api) -> None:
    body = api.get("/trends").get_json()
    assert body["from"] == "2025-12" and body["to"] == "2026-11"
    assert len(body["months"]) == len(body["incidents_by_grade"]) == 12
    assert body["timezone"] == "Asia/Shanghai"
    assert body["acknowledge"]["total"] == {"count": 0, "mean_seconds": None, "p90_seconds": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-1", "from"),
        ("from=2026-13", "from"),
        ("to=2026/01", "to"),
        ("from=2026-06&to=2026-05", "from"),
        ("from=2027-01&to=2027-03", "from"),
        ("from=2020-01&to=2026-01", "to"),
        ("since=2026-01", "since"),
    ],
)
def test_a_bad_period_is_a_422_naming_the_parameter(api: Api, query: str, field: str) -> None:
    reply = api.get(f"/trends?{query}")
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert error["field"] == field
    assert not schema_problems(reply.get_json(), "Error", document())


def test_it_is_for_those_who_see_every_incident(api: Api) -> None:
    assert api.get("/trends", as_="director").status_code == 200
    assert api.get("/trends", as_="trafhead").status_code == 403
    assert api.get("/trends", as_=None).status_code == 401


def test_the_document_declares_it_with_its_parameters_and_schema() -> None:
    doc = document()
    op = doc["paths"]["/trends"]["get"]
    assert {p["name"]: p["in"] for p in op["parameters"]} == {"from": "query", "to": "query"}
    assert {"200", "401", "403", "422"} <= set(op["responses"])
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok == "#/components/schemas/Trends"
    props = doc["components"]["schemas"]["Trends"]["properties"]
    assert "from" in props and "from_" not in props
    tiers = doc["components"]["schemas"]["TierCounts"]["properties"]
    assert set(tiers) == {"0", "1", "2", "3", "4", "none"}
