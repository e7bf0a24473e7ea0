"""The grading guide through the API: suggestions and the description of the facts."""

from __future__ import annotations

from incidents.grading import IMPACT_FIELDS
from tests.api.conftest import Api


def test_it_suggests_a_grade_with_the_thresholds_met(api: Api) -> None:
    reply = api.post(
        "/grading/suggest", json={"impact": {"cii": True, "system_outage_minutes": 60}}
    )
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["grade"] == "major"
    assert [r["threshold"] for r in body["reasons"]] == ["system_outage_minutes>=60"]
    assert body["below_suggestion"] is None


def test_it_says_whether_a_chosen_grade_is_below_the_suggestion(api: Api) -> None:
    impact = {"economic_loss_cny": 5_000_000}
    below = api.post("/grading/suggest", json={"impact": impact, "grade": "general"})
    assert below.get_json()["below_suggestion"] is True
    same = api.post("/grading/suggest", json={"impact": impact, "grade": "relatively_major"})
    assert same.get_json()["below_suggestion"] is False


def test_no_facts_suggest_general(api: Api) -> None:
    body = api.post("/grading/suggest", json={}).get_json()
    assert (body["grade"], body["reasons"]) == ("general", [])


def test_suggesting_stores_nothing(api: Api) -> None:
    before = api.counts()
    api.post("/grading/suggest", json={"impact": {"people_affected": 10_000_000}})
    assert api.counts() == before


def test_the_fields_are_those_of_the_guide(api: Api) -> None:
    body = api.get("/grading/fields").get_json()
    assert [f["name"] for f in body["fields"]] == list(IMPACT_FIELDS)
    site = next(f for f in body["fields"] if f["name"] == "site_class")
    assert [c["code"] for c in site["choices"]] == ["none", "basic", "municipal", "provincial"]
    assert [g["grade"] for g in body["grades"]] == [
        "general",
        "relatively_major",
        "major",
        "especially_major",
    ]
    assert len(body["categories"]) == 10
