"""Duty handoffs (交接班) over the API: listed, read, acknowledged once by an officer."""

from __future__ import annotations

from escalation.handoff_watch import HandoffDuty
from tests.api.conftest import Api, services_of
from tests.escalation.support import HANDOFF, rotate_duty


def hand_over(api: Api) -> int:
    """duty hands the duty officer shift to trafstaff at 08:30."""
    services = services_of(api.app)
    with services.sessions.begin() as s:
        rotate_duty(s, api.person_id("duty"), api.person_id("trafstaff"))
    found = HandoffDuty(tz=services.policy.tz).run(services.sessions, HANDOFF).handoff_id
    assert found is not None
    return found


def test_the_handoffs_are_listed_and_read(api: Api) -> None:
    handoff_id = hand_over(api)
    (item,) = api.get("/handoffs", as_="director").get_json()["items"]
    assert item["id"] == handoff_id and item["role"] == "duty_officer"
    assert (item["outgoing"]["login"], item["incoming"]["login"]) == ("duty", "trafstaff")
    assert item["acknowledged_at"] is None and item["acknowledged_via"] == ""
    assert api.get(f"/handoffs/{handoff_id}").get_json() == item
    missing = api.get("/handoffs/999999")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "handoff.unknown"


def test_an_officer_acknowledges_once_and_anyone_else_is_refused(api: Api) -> None:
    handoff_id = hand_over(api)
    refused = api.post(f"/handoffs/{handoff_id}/acknowledge", as_="director")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "handoff.not_party"
    done = api.post(f"/handoffs/{handoff_id}/acknowledge", as_="trafstaff")
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["changed"] is True
    assert body["handoff"]["acknowledged_by"]["login"] == "trafstaff"
    assert body["handoff"]["acknowledged_via"] == "api"
    again = api.post(f"/handoffs/{handoff_id}/acknowledge", as_="duty").get_json()
    assert again["changed"] is False
    assert again["handoff"]["acknowledged_by"]["login"] == "trafstaff"


def test_the_handoff_operations_are_in_the_document(api: Api) -> None:
    paths = api.get("/openapi.json", as_=None).get_json()["paths"]
    assert "get" in paths["/handoffs"]
    assert {"403", "404"} <= set(paths["/handoffs/{handoff_id}/acknowledge"]["post"]["responses"])
