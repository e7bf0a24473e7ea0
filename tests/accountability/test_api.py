"""The accountability API: the engine's JSON, and the workflow by bearer token."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask

from accountability.rules import assess
from app.accountability_api import bp
from app.api.openapi import document_for
from tests.accountability.conftest import Api
from tests.accountability.support import HOUR, Bureau
from tests.conftest import T0

SAME_FACTS = [
    {},
    {"grade": "general", "reported_as_required": False},
    {"grade": "major", "handled_promptly": False, "impact": "some", "cooperation": "refused"},
    {"grade": "especially_major", "force_majeure": True, "reported_as_required": False},
    {"grade": "major", "full_compliance_proven": True},
    {"rules_implemented": False, "prior_sanctions": 2},
    {"grade": "major", "impact": "some"},
    {
        "grade": "especially_major",
        "rules_implemented": False,
        "noncompliance_led_to_incident": True,
        "handled_promptly": False,
        "impact": "serious",
        "concealed_or_false_report": True,
        "evidence_destroyed_or_falsified": True,
    },
]


@pytest.mark.parametrize("facts", SAME_FACTS, ids=lambda f: json.dumps(f)[:60])
def test_the_same_facts_give_the_same_json_through_python_and_the_api(
    api: Api, facts: dict[str, object]
) -> None:
    reply = api.post("/accountability/assess", facts, as_="duty")

    assert reply.status_code == 200
    assert reply.get_json() == assess(facts).to_dict()


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"grade": "huge"}, "grade"),
        ({"prior_sanctions": -1}, "prior_sanctions"),
        ({"handled_promptly": 1}, "handled_promptly"),
        ({"impact": "some"}, "impact"),
        ({"rules_implemented": False, "full_compliance_proven": True}, "full_compliance_proven"),
    ],
)
def test_invalid_facts_are_422_naming_the_field(
    api: Api, facts: dict[str, object], field: str
) -> None:
    reply = api.post("/accountability/assess", facts, as_="duty")

    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == field


def test_assessing_needs_a_token(app: Flask) -> None:
    reply = app.test_client().post("/api/v1/accountability/assess", json={})

    assert reply.status_code == 401


def test_a_body_that_is_not_an_object_is_422(api: Api) -> None:
    reply = api.post("/accountability/assess", [1, 2], as_="duty")

    assert reply.status_code == 422


def _incident(bureau: Bureau) -> int:
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + HOUR / 2, "internal")
    bureau.file(incident, T0 + 6 * HOUR, "external", late_reason="系统故障")
    bureau.resolve(incident, T0 + 14 * HOUR)
    return incident


def test_it_lists_the_subjects_with_their_cases(api: Api, bureau: Bureau) -> None:
    incident = _incident(bureau)
    reply = api.get(f"/incidents/{incident}/subjects", as_="lgoffice")

    assert reply.status_code == 200
    logins = [s["login"] for s in reply.get_json()["items"]]
    assert logins[:2] == ["trafstaff", "trafhead"]


def test_the_subjects_are_not_for_the_duty_officer(api: Api, bureau: Bureau) -> None:
    incident = _incident(bureau)

    assert api.get(f"/incidents/{incident}/subjects", as_="duty").status_code == 403


def test_it_walks_a_joint_decision_through_the_api(api: Api, bureau: Bureau, clock: object) -> None:
    incident = _incident(bureau)
    clock.set(T0 + 24 * HOUR)  # type: ignore[attr-defined]
    opened = api.post(
        f"/incidents/{incident}/cases", {"person_id": bureau.id_of("trafstaff")}, as_="lgoffice"
    )
    assert opened.status_code == 201, opened.get_json()
    case = opened.get_json()["id"]
    assert opened.headers["Location"].endswith(f"/api/v1/cases/{case}")

    found = api.post(
        f"/cases/{case}/findings",
        {
            "findings": [
                {"fact": "rules_implemented", "value": False, "evidence": "补丁台账缺失"},
                {
                    "fact": "noncompliance_led_to_incident",
                    "value": True,
                    "evidence": "漏洞利用日志",
                },
                {"fact": "impact", "value": "some", "evidence": "媒体报道"},
            ]
        },
        as_="lgoffice",
    )
    assert found.status_code == 200, found.get_json()

    determined = api.post(f"/cases/{case}/determine", as_="lgoffice").get_json()
    clauses = [c["id"] for c in determined["determination"]["assessment"]["clauses"]]
    assert clauses == ["5.2(a)", "5.3(b)"]
    assert (
        determined["determination"]["assessment"]
        == assess(determined["determination"]["facts"]).to_dict()
    )

    proposed = api.post(f"/cases/{case}/propose", {"sanction": "general_handling"}, as_="lgoffice")
    assert proposed.get_json()["status"] == "agreeing"
    # The duty officer may not even see the case; HR sees it but does not decide.
    assert api.post(f"/cases/{case}/decide", as_="duty").status_code == 404
    assert api.post(f"/cases/{case}/decide", as_="hr").status_code == 403
    assert api.post(f"/cases/{case}/agree", {"agree": True}, as_="hr").status_code == 200
    assert api.post(f"/cases/{case}/approve", {"approve": True}, as_="lgmember").status_code == 409
    for login in ("officehead", "lgoffice"):
        assert api.post(f"/cases/{case}/agree", {"agree": True}, as_=login).status_code == 200
    assert api.post(f"/cases/{case}/approve", {"approve": True}, as_="hr").status_code == 403
    approved = api.post(f"/cases/{case}/approve", {"approve": True}, as_="lgmember")
    assert approved.get_json()["status"] == "decided"
    assert "execute" in api.get(f"/cases/{case}", as_="hr").get_json()["actions"]

    executed = api.post(f"/cases/{case}/execute", {"note": "已处理"}, as_="hr").get_json()
    assert executed["status"] == "executed"
    assert executed["decision"]["sanction"]["code"] == "general_handling"


def test_a_case_the_caller_may_not_see_is_404(api: Api, bureau: Bureau) -> None:
    incident = _incident(bureau)
    case = bureau.open_case(incident, "trafstaff", T0 + 24 * HOUR)

    assert api.get(f"/cases/{case}", as_="finhead").status_code == 404
    assert api.get(f"/cases/{case}", as_="trafstaff").status_code == 200


def test_an_unknown_field_in_a_step_is_422(api: Api, bureau: Bureau) -> None:
    incident = _incident(bureau)
    case = bureau.open_case(incident, "trafstaff", T0 + 24 * HOUR)
    reply = api.post(f"/cases/{case}/waive", {"reason": "x", "why": "y"}, as_="lgoffice")

    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "why"


def test_a_finding_naming_an_unknown_fact_is_422(api: Api, bureau: Bureau) -> None:
    incident = _incident(bureau)
    case = bureau.open_case(incident, "trafstaff", T0 + 24 * HOUR)
    reply = api.post(
        f"/cases/{case}/findings",
        {"findings": [{"fact": "mood", "value": 1, "evidence": "x"}]},
        as_="lgoffice",
    )

    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "findings[0].fact"


def test_the_perfunctory_list_is_served_to_the_leading_group(api: Api) -> None:
    reply = api.get("/accountability/perfunctory", as_="lgmember")

    assert reply.status_code == 200
    assert reply.get_json()["items"] == []
    assert reply.get_json()["rule"]["clause"] == "5.4"
    assert api.get("/accountability/perfunctory", as_="duty").status_code == 403


def test_the_document_describes_every_accountability_route(app: Flask) -> None:
    paths = document_for(app)["paths"]
    documented = {
        (path, method.upper())
        for path, item in paths.items()
        for method, op in item.items()
        if op["tags"] == ["accountability"]
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(bp.name + "."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/api/v1")
            for method in rule.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    served.add((path, method))

    assert documented == served


def test_the_responses_match_the_document(app: Flask, api: Api, bureau: Bureau) -> None:
    from tests.api.conftest import schema_problems

    doc = document_for(app)

    def ok_schema(path: str, method: str) -> str:
        responses = doc["paths"][path][method]["responses"]
        status = "201" if "201" in responses else "200"
        ref: str = responses[status]["content"]["application/json"]["schema"]["$ref"]
        return ref

    incident = _incident(bureau)
    case = bureau.open_case(incident, "trafstaff", T0 + 24 * HOUR)
    bureau.find(case, T0 + 24 * HOUR, impact="some")
    replies = {
        ("/accountability/assess", "post"): api.post(
            "/accountability/assess", {"grade": "major", "force_majeure": True}, as_="duty"
        ),
        ("/accountability/cases", "get"): api.get("/accountability/cases", as_="lgoffice"),
        ("/accountability/perfunctory", "get"): api.get(
            "/accountability/perfunctory", as_="lgmember"
        ),
        ("/incidents/{incident_id}/subjects", "get"): api.get(
            f"/incidents/{incident}/subjects", as_="lgoffice"
        ),
        ("/incidents/{incident_id}/cases", "get"): api.get(
            f"/incidents/{incident}/cases", as_="lgoffice"
        ),
        ("/cases/{case_id}", "get"): api.get(f"/cases/{case}", as_="lgoffice"),
        ("/cases/{case_id}/determine", "post"): api.post(
            f"/cases/{case}/determine", as_="lgoffice"
        ),
    }
    for (path, method), reply in replies.items():
        assert reply.status_code == 200, (path, reply.get_json())
        problems = schema_problems(reply.get_json(), ok_schema(path, method), doc)
        assert problems == [], (path, problems)
