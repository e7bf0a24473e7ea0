"""Monitoring intake over HTTP: Alertmanager's webhook (version 4) and the generic JSON
webhook, one incident per group, strict bodies, and the token scoped to intake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.cli import main
from incidents.audit import AuditEvent, system_actor
from incidents.errors import ValidationError
from incidents.tokens import create_token
from tests.api.conftest import Api, incident_body, services_of

ALERTMANAGER: dict[str, Any] = {
    "receiver": "fenghuo",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "FenghuoDown", "instance": "a"},
            "annotations": {"summary": "烽火 down"},
            "startsAt": "2026-11-01T21:42:32Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "2fa196e92ee067c6",
        }
    ],
    "groupLabels": {"alertname": "FenghuoDown"},
    "commonLabels": {"alertname": "FenghuoDown"},
    "commonAnnotations": {"summary": "烽火 down"},
    "externalURL": "http://vm:19093",
    "version": "4",
    "groupKey": '{}:{alertname="FenghuoDown"}',
    "truncatedAlerts": 0,
}


def test_alertmanager_endpoint(api: Api) -> None:
    payload = ALERTMANAGER
    first = api.post("/intake/alertmanager", json=payload)
    assert first.status_code == 200, first.get_json()
    again = api.post("/intake/alertmanager", json=payload)
    assert again.get_json() == {"incident_id": first.get_json()["incident_id"], "created": False}
    bad = api.post("/intake/alertmanager", json={**payload, "extra": 1})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "extra"
    bad = api.post("/intake/alertmanager", json={**payload, "version": 4})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "version"


# --- the generic webhook ---------------------------------------------------------------


def webhook(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "siem",
        "key": "brute-force/portal",
        "status": "firing",
        "title": "门户网站遭暴力破解",
        "labels": {"service": "portal", "team": "cc", "severity": "critical"},
        "starts_at": "2026-11-27T08:55:00+08:00",
    }
    body.update(fields)
    return body


def events_of(api: Api, incident_id: int) -> list[AuditEvent]:
    with services_of(api.app).sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.incident_id == incident_id)
                .order_by(AuditEvent.seq)
            )
        )


def test_the_generic_webhook_opens_one_incident_per_source_and_key(api: Api) -> None:
    first = api.post("/intake/webhook", json=webhook())
    assert first.status_code == 200, first.get_json()
    reply = first.get_json()
    assert reply["created"] is True
    incident_id = reply["incident_id"]
    again = api.post("/intake/webhook", json=webhook(title="again"))
    assert again.get_json() == {"incident_id": incident_id, "created": False}
    done = api.post("/intake/webhook", json=webhook(status="resolved"))
    assert done.get_json() == {"incident_id": incident_id, "created": False}
    other = api.post("/intake/webhook", json=webhook(source="waf"))  # same key, other sender
    assert other.get_json()["created"] is True

    incident = api.get(f"/incidents/{incident_id}").get_json()
    assert incident["grade"] == "major"  # severity=critical through [intake] grades
    assert incident["status"] == "new"  # resolved closes nothing: a person decides
    assert [s["code"] for s in incident["systems"]] == ["portal"]
    events = events_of(api, incident_id)
    kinds = [e.kind for e in events]
    assert kinds.count("intake.received") == 1 and kinds.count("intake.repeated") == 2
    assert "intake.resolved" in kinds
    assert {e.source for e in events} == {"monitoring"}
    assert {e.actor_login for e in events} == {"monitoring:siem"}
    assert events[0].kind == "incident.created"
    assert events[0].payload["detected_at"] == "2026-11-27T00:55:00+00:00"


def test_an_explicit_grade_wins_and_an_unknown_label_is_said_on_the_timeline(api: Api) -> None:
    reply = api.post(
        "/intake/webhook",
        json=webhook(
            key="k2", labels={"system": "mail-relay"}, severity="high", grade="relatively_major"
        ),
    ).get_json()
    incident = api.get(f"/incidents/{reply['incident_id']}").get_json()
    assert incident["grade"] == "relatively_major" and incident["systems"] == []
    mapped = [e for e in events_of(api, reply["incident_id"]) if e.kind == "intake.mapped"]
    assert mapped[0].payload["fallbacks"] == ["system"]
    assert "no system matches system=mail-relay" in mapped[0].payload["reason"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": 1}, "priority"),
        ({"status": "open"}, "status"),
        ({"key": ""}, "key"),
        ({"source": "SIEM tool"}, "source"),
        ({"grade": "huge"}, "grade"),
        ({"starts_at": "2026-11-27T08:55:00"}, "starts_at"),  # no zone
        ({"labels": {"severity": 3}}, "labels.severity"),
        ({"title": None}, "title"),
    ],
)
def test_a_bad_webhook_body_is_a_422_naming_the_field_and_writes_nothing(
    api: Api, change: dict[str, Any], field: str
) -> None:
    before = api.counts()
    reply = api.post("/intake/webhook", json=webhook(**change))
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["error"]["field"] == field
    assert api.counts() == before


def test_the_webhook_is_in_the_openapi_document(api: Api) -> None:
    doc = api.get("/openapi.json", as_=None).get_json()
    op = doc["paths"]["/intake/webhook"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookAlert"
    }
    body = doc["components"]["schemas"]["WebhookAlert"]
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"source", "key", "status", "title"}
    assert {"403", "422"} <= set(op["responses"])
    assert "AlertmanagerPayload" in doc["components"]["schemas"]


# --- the intake token ------------------------------------------------------------------


def intake_token(api: Api, login: str) -> str:
    with services_of(api.app).sessions() as s, s.begin():
        token, _row = create_token(
            s,
            login=login,
            name="alertmanager",
            actor=system_actor("cli"),
            now=api.clock.now(),
            scope="intake",
        )
    return token


def test_an_intake_token_posts_alerts_and_nothing_else(api: Api) -> None:
    # trafstaff may not log incidents; the intake scope alone lets the token post alerts.
    bearer = {"Authorization": f"Bearer {intake_token(api, 'trafstaff')}"}
    posted = api.post("/intake/webhook", json=webhook(), as_=None, headers=bearer)
    assert posted.status_code == 200, posted.get_json()
    am = api.post("/intake/alertmanager", json=ALERTMANAGER, as_=None, headers=bearer)
    assert am.status_code == 200, am.get_json()
    incident_id = posted.get_json()["incident_id"]
    for method, path, body in (
        ("GET", "/incidents", None),
        ("GET", f"/incidents/{incident_id}", None),
        ("POST", "/incidents", incident_body()),
        ("POST", f"/incidents/{incident_id}/acknowledge", {}),
        ("GET", "/me", None),
    ):
        reply = api.call(method, path, as_=None, headers=bearer, json=body)
        assert reply.status_code == 403, (path, reply.get_json())
        assert reply.get_json()["error"]["code"] == "token_scope_intake"


def test_a_persons_own_token_posts_intake_only_if_they_may_log(api: Api) -> None:
    assert api.post("/intake/webhook", json=webhook(), as_="duty").status_code == 200
    before = api.counts()
    refused = api.post("/intake/webhook", json=webhook(key="other"), as_="trafstaff")
    assert refused.status_code == 403
    refused = api.post("/intake/alertmanager", json=ALERTMANAGER, as_="trafstaff")
    assert refused.status_code == 403
    assert api.counts() == before


def test_an_unknown_scope_is_refused(api: Api) -> None:
    with services_of(api.app).sessions() as s, pytest.raises(ValidationError) as caught:
        create_token(
            s, login="duty", name="n", actor=system_actor("cli"), now=api.clock.now(), scope="all"
        )
    assert caught.value.field == "scope"


def test_the_cli_makes_an_intake_token_that_the_api_honours(
    api: Api, sqlite_url: str, tmp_path: Path
) -> None:
    env = {"FENGHUO_DATABASE_URL": sqlite_url, "FENGHUO_INSTANCE_PATH": str(tmp_path / "cli")}
    made = CliRunner().invoke(
        main,
        ["token", "create", "--person", "trafstaff", "--name", "waf", "--scope", "intake"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    listed = CliRunner().invoke(main, ["token", "list"], env=env)
    assert any("\twaf\t" in line and "\tintake\t" in line for line in listed.output.splitlines())
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.post("/intake/webhook", json=webhook(), as_=None, headers=bearer).status_code == 200
    assert api.get("/incidents", as_=None, headers=bearer).status_code == 403
    wrong = CliRunner().invoke(
        main, ["token", "create", "--person", "duty", "--name", "x", "--scope", "root"], env=env
    )
    assert wrong.exit_code == 2 and "--scope" in wrong.output
