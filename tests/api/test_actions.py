"""Acting on an incident through the API: each endpoint is one ``escalation.response`` use
case (issue 3, item 7); the use case's own permission checks and compare-and-set hold."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.conftest import Api

INITIAL = {"entity": "某市局 局门户网站(等保三级)", "occurrence": "08:30 发现首页被篡改,已断网"}


def path(incident: dict[str, object], action: str) -> str:
    return f"/incidents/{incident['id']}/{action}"


def test_acknowledging_records_who_and_when(any_api: Api) -> None:
    incident = any_api.create()
    reply = any_api.post(path(incident, "acknowledge"), as_="cchead")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["changed"] is True
    assert body["incident"]["status"] == "acknowledged"
    assert body["incident"]["acknowledged_by"]["login"] == "cchead"
    assert body["incident"]["acknowledged_at"] == any_api.clock.now().isoformat()


def test_a_second_acknowledgement_changes_nothing(api: Api) -> None:
    incident = api.create()
    api.post(path(incident, "acknowledge"), as_="cchead")
    before = api.counts()
    reply = api.post(path(incident, "acknowledge"), as_="netsec")
    assert reply.status_code == 200
    assert reply.get_json()["changed"] is False
    assert reply.get_json()["incident"]["acknowledged_by"]["login"] == "cchead"
    assert api.counts() == before


def test_someone_outside_the_chain_cannot_acknowledge(any_api: Api) -> None:
    incident = any_api.create(system_ids=[any_api.system_id("traffic-platform")])
    before = any_api.counts()
    reply = any_api.post(path(incident, "acknowledge"), as_="trafstaff")
    assert reply.status_code == 403
    assert any_api.counts() == before


def test_the_department_head_in_the_chain_can_acknowledge(api: Api) -> None:
    incident = api.create(system_ids=[api.system_id("traffic-platform")])
    assert api.post(path(incident, "acknowledge"), as_="trafhead").status_code == 200


def test_an_action_on_an_invisible_incident_is_404(api: Api) -> None:
    incident = api.create(system_ids=[api.system_id("finance-system")])
    assert api.post(path(incident, "acknowledge"), as_="trafstaff").status_code == 404


def test_starting_handling_acknowledges_too(api: Api) -> None:
    incident = api.create()
    body = api.post(path(incident, "start-handling")).get_json()
    assert body["status"] == "handling"
    assert body["acknowledged_by"]["login"] == "duty"
    assert body["handling_started_at"] is not None


def test_only_the_command_center_starts_handling(api: Api) -> None:
    incident = api.create()
    assert api.post(path(incident, "start-handling"), as_="director").status_code == 403


def test_resolving_stamps_the_time(api: Api) -> None:
    incident = api.create()
    api.post(path(incident, "start-handling"))
    api.clock.advance(minutes=30)
    reply = api.post(path(incident, "resolve"), json={"summary": "已恢复首页"})
    assert reply.status_code == 200
    assert reply.get_json()["status"] == "resolved"
    assert reply.get_json()["resolved_at"] == api.clock.now().isoformat()


def test_resolving_a_new_incident_is_409(api: Api) -> None:
    incident = api.create()
    reply = api.post(path(incident, "resolve"))
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "illegal_transition"


def test_closing_is_refused_while_a_report_is_owed(any_api: Api) -> None:
    incident = any_api.create()
    any_api.post(path(incident, "start-handling"))
    any_api.post(path(incident, "resolve"))
    reply = any_api.post(path(incident, "close"))
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "obligations_pending"


def test_closing_after_the_report_is_filed(api: Api) -> None:
    incident = api.create()
    api.post(path(incident, "reports"), json={"kind": "initial", "items": INITIAL})
    api.post(path(incident, "start-handling"))
    api.post(path(incident, "resolve"))
    reply = api.post(path(incident, "close"), json={"reason": "处置完毕"})
    assert reply.status_code == 200
    assert reply.get_json()["status"] == "closed"


def test_reopening_needs_a_reason(api: Api) -> None:
    incident = api.create()
    api.post(path(incident, "start-handling"))
    api.post(path(incident, "resolve"))
    missing = api.post(path(incident, "reopen"), json={})
    assert (missing.status_code, missing.get_json()["error"]["field"]) == (422, "reason")
    reply = api.post(path(incident, "reopen"), json={"reason": "首页再次被篡改"})
    assert reply.status_code == 200
    assert (reply.get_json()["status"], reply.get_json()["reopen_count"]) == ("reopened", 1)


def test_transitions_go_through_the_same_use_cases(any_api: Api) -> None:
    incident = any_api.create()
    acknowledged = any_api.post(path(incident, "transitions"), json={"to": "acknowledged"})
    assert acknowledged.get_json()["acknowledged_by"]["login"] == "duty"
    handling = any_api.post(path(incident, "transitions"), json={"to": "handling"})
    assert handling.get_json()["status"] == "handling"
    resolved = any_api.post(path(incident, "transitions"), json={"to": "resolved"})
    assert resolved.get_json()["status"] == "resolved"


def test_regrading_records_the_grade_and_the_reason(any_api: Api) -> None:
    incident = any_api.create(grade="general")
    reply = any_api.post(path(incident, "grade"), json={"grade": "major", "reason": "影响扩大"})
    assert reply.status_code == 200
    assert (reply.get_json()["grade"], reply.get_json()["grade_level"]) == ("major", "II")
    events = any_api.get(path(incident, "timeline")).get_json()["items"]
    regraded = [e for e in events if e["kind"] == "incident.regraded"]
    assert regraded[0]["data"]["reason"] == "影响扩大"


def test_an_upgrade_tightens_the_internal_deadline(api: Api) -> None:
    incident = api.create(grade="general")
    api.post(path(incident, "grade"), json={"grade": "major", "reason": "影响扩大"})
    owed = {o["name"]: o for o in api.get(path(incident, "obligations")).get_json()["items"]}
    detected = datetime.fromisoformat(incident["detected_at"])
    assert datetime.fromisoformat(owed["internal"]["due_at"]) == detected + timedelta(hours=1)
    assert "external" in owed


def test_regrading_to_the_same_grade_is_409(api: Api) -> None:
    incident = api.create(grade="general")
    reply = api.post(path(incident, "grade"), json={"grade": "general", "reason": "复核"})
    assert reply.status_code == 409


def test_escalating_now_fires_the_next_step(any_api: Api) -> None:
    incident = any_api.create(grade="general")
    reply = any_api.post(path(incident, "escalate"), as_="cchead")
    assert reply.status_code == 200
    body = reply.get_json()
    # Step 0 paged the command center when it was logged; step 1 informs the leader on
    # duty and is not a page to bring forward: the next page is step 2.
    assert body["step"] == 2
    assert "netsec" in {r["login"] for r in body["recipients"]}


def test_filing_the_initial_report_meets_the_obligation(any_api: Api) -> None:
    incident = any_api.create()
    reply = any_api.post(path(incident, "reports"), json={"kind": "initial", "items": INITIAL})
    assert reply.status_code == 201
    report = reply.get_json()
    assert (report["kind"], report["obligations"]) == ("initial", ["internal"])
    assert report["kind_name"]["zh"] == "初次报告"
    assert report["filed_by"]["login"] == "duty"
    owed = any_api.get(path(incident, "obligations")).get_json()["items"]
    assert [(o["name"], o["status"]) for o in owed] == [("internal", "met")]


def test_the_reports_are_listed_oldest_first(api: Api) -> None:
    incident = api.create()
    api.post(path(incident, "reports"), json={"kind": "initial", "items": INITIAL})
    api.post(
        path(incident, "reports"),
        json={"kind": "supplement", "items": {"preliminary_cause": "弱口令"}},
    )
    listed = api.get(path(incident, "reports")).get_json()["items"]
    assert [r["kind"] for r in listed] == ["initial", "supplement"]
    assert listed[1]["items"] == {"preliminary_cause": "弱口令"}


def test_an_initial_report_without_item_two_is_422_and_stores_nothing(any_api: Api) -> None:
    incident = any_api.create()
    before = any_api.counts()
    reply = any_api.post(
        path(incident, "reports"), json={"kind": "initial", "items": {"entity": "局门户网站"}}
    )
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "items.occurrence")
    assert any_api.counts() == before
    assert any_api.get(path(incident, "reports")).get_json()["items"] == []


def test_a_report_of_an_unknown_kind_is_422(api: Api) -> None:
    incident = api.create()
    reply = api.post(path(incident, "reports"), json={"kind": "draft", "items": INITIAL})
    assert (reply.status_code, reply.get_json()["error"]["field"]) == (422, "kind")


def test_a_supplement_before_the_initial_report_is_409(api: Api) -> None:
    incident = api.create()
    reply = api.post(
        path(incident, "reports"), json={"kind": "supplement", "items": {"trend": "可控"}}
    )
    assert reply.status_code == 409


def test_a_late_filing_needs_its_reason(api: Api) -> None:
    incident = api.create(grade="general")  # internal report within 24 h of detection
    api.clock.advance(hours=24)
    body = {"kind": "initial", "items": INITIAL}
    refused = api.post(path(incident, "reports"), json=body)
    assert (refused.status_code, refused.get_json()["error"]["field"]) == (422, "late_reason")
    filed = api.post(path(incident, "reports"), json={**body, "late_reason": "值班交接遗漏"})
    assert filed.status_code == 201
    owed = api.get(path(incident, "obligations")).get_json()["items"]
    assert (owed[0]["status"], owed[0]["late_reason"]) == ("late", "值班交接遗漏")


def test_the_obligations_show_the_time_left(api: Api) -> None:
    incident = api.create(grade="major", grade_reason="研判")
    owed = {o["name"]: o for o in api.get(path(incident, "obligations")).get_json()["items"]}
    # Detected 30 minutes before now; major: internal within 1 h, external (local) within 4 h.
    assert owed["internal"]["time_left_seconds"] == 30 * 60
    assert owed["external"]["time_left_seconds"] == 3.5 * 3600
    assert owed["final"]["due_at"] is None  # counted from resolution


def test_the_escalation_shows_who_was_paged(any_api: Api) -> None:
    incident = any_api.create(grade="general")
    state = any_api.get(path(incident, "escalation")).get_json()
    first_step = state["chains"][0]["steps"][0]
    paged = {r["login"] for t in first_step["timers"] for r in t["recipients"]}
    assert paged == {"duty", "cchead"}
    assert state["acknowledged_by"] is None


def test_the_figures_count_open_and_unacknowledged(any_api: Api) -> None:
    any_api.create(grade="general")
    acknowledged = any_api.create(grade="general")
    any_api.post(path(acknowledged, "acknowledge"))
    figures = any_api.get("/stats", as_="director").get_json()
    assert figures["grades"]["general"]["open"] == 2
    assert figures["grades"]["general"]["unacknowledged"] == 1
    assert figures["today"]["opened"] == 2


def test_the_figures_are_for_those_who_see_everything(api: Api) -> None:
    assert api.get("/stats", as_="trafstaff").status_code == 403


def test_me_says_what_the_token_may_do(api: Api) -> None:
    duty = api.get("/me", as_="duty").get_json()
    staff = api.get("/me", as_="trafstaff").get_json()
    assert duty["capabilities"]["can_log"] is True
    assert staff["capabilities"] == {
        "sees_all": False,
        "can_log": False,
        "can_handle": False,
        "can_manage_org": False,
    }
    assert [p["role"] for p in duty["positions"]] == ["duty_officer"]
