"""Logging, reading, listing and editing incidents through the API (issue 2, item 7)."""

from __future__ import annotations

from datetime import datetime

from tests.api.conftest import Api, incident_body


def test_logging_an_incident_returns_its_id_and_number(any_api: Api) -> None:
    reply = any_api.post("/incidents", json=incident_body())
    assert reply.status_code == 201
    body = reply.get_json()
    assert body["number"] == "FH-2026-0001"
    assert isinstance(body["id"], int)
    assert reply.headers["Location"] == f"/api/v1/incidents/{body['id']}"


def test_numbers_follow_each_other(api: Api) -> None:
    numbers = [api.create()["number"] for _ in range(3)]
    assert numbers == ["FH-2026-0001", "FH-2026-0002", "FH-2026-0003"]


def test_times_come_back_in_iso_8601_with_a_zone(api: Api) -> None:
    body = api.create(detected_at="2026-11-27T08:30:00+08:00")
    detected = datetime.fromisoformat(body["detected_at"])
    assert detected.utcoffset() is not None
    assert detected == datetime.fromisoformat("2026-11-27T08:30:00+08:00")


def test_the_record_carries_names_with_its_codes(api: Api) -> None:
    body = api.create(category="malware", grade="major", grade_reason="研判")
    assert body["category_name"] == {"zh": "恶意程序事件", "en": "Malware"}
    assert (body["grade"], body["grade_level"], body["grade_colour"]) == ("major", "II", "orange")
    assert body["grade_name"]["zh"] == "重大"
    assert body["status"] == "new"


def test_without_a_grade_the_suggestion_is_taken(api: Api) -> None:
    body = api.create(impact={"people_affected": 1_000_000})
    assert body["grade"] == "major"
    assert body["suggestion"]["grade"] == "major"
    assert body["suggestion"]["reasons"][0]["threshold"] == "people_affected>=1000000"
    assert body["below_suggestion"] is False


def test_a_grade_below_the_suggestion_is_flagged(api: Api) -> None:
    body = api.create(grade="general", impact={"pi_records_leaked": 1_000_000})
    assert body["suggestion"]["grade"] == "relatively_major"
    assert body["below_suggestion"] is True


def test_the_responsible_department_defaults_to_the_systems_owner(api: Api) -> None:
    body = api.create(system_ids=[api.system_id("finance-system")])
    assert body["responsible_department"]["code"] == "finance"
    assert [s["code"] for s in body["systems"]] == ["finance-system"]


def test_a_cii_system_makes_the_impact_cii(api: Api) -> None:
    body = api.create(system_ids=[api.system_id("traffic-platform")])
    assert body["impact"]["cii"] is True


def test_the_reporter_is_the_tokens_person(api: Api) -> None:
    body = api.create(as_="cchead")
    assert body["reporter"]["login"] == "cchead"


def test_an_incident_can_be_read_back(any_api: Api) -> None:
    created = any_api.create(description="首页出现违法有害信息", location="机房A")
    reply = any_api.get(f"/incidents/{created['id']}")
    assert reply.status_code == 200
    assert reply.get_json() == created


def test_a_missing_incident_is_404(api: Api) -> None:
    reply = api.get("/incidents/4242")
    assert reply.status_code == 404
    assert reply.get_json()["error"]["code"] == "not_found"


def test_the_list_is_newest_first(api: Api) -> None:
    ids = [api.create()["id"] for _ in range(3)]
    listed = api.get("/incidents").get_json()
    assert [item["id"] for item in listed["items"]] == ids[::-1]
    assert listed["next_cursor"] is None


def test_pages_follow_the_cursor_to_the_end_without_repeats(any_api: Api) -> None:
    ids = [any_api.create()["id"] for _ in range(5)]
    seen: list[int] = []
    path = "/incidents?limit=2"
    pages = 0
    while True:
        page = any_api.get(path).get_json()
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        path = f"/incidents?limit=2&cursor={page['next_cursor']}"
    assert pages == 3
    assert seen == ids[::-1]


def test_the_list_filters_by_status_grade_and_category(api: Api) -> None:
    general = api.create(category="malware", grade="general")
    major = api.create(category="network_attack", grade="major", grade_reason="研判")
    api.post(f"/incidents/{major['id']}/acknowledge", json={})

    def ids(query: str) -> list[int]:
        return [item["id"] for item in api.get(f"/incidents?{query}").get_json()["items"]]

    assert ids("grade=major") == [major["id"]]
    assert ids("category=malware") == [general["id"]]
    assert ids("status=acknowledged") == [major["id"]]
    assert ids("status=new,acknowledged") == [major["id"], general["id"]]
    assert ids("grade=general&grade=major") == [major["id"], general["id"]]
    assert ids("status=acknowledged&category=malware") == []


def test_the_list_filters_by_detection_time(api: Api) -> None:
    early = api.create(detected_at="2026-11-27T06:00:00+08:00")
    late = api.create(detected_at="2026-11-27T08:00:00+08:00")
    listed = api.get("/incidents?since=2026-11-27T07:00:00%2B08:00").get_json()["items"]
    assert [item["id"] for item in listed] == [late["id"]]
    listed = api.get("/incidents?until=2026-11-26T23:00:00Z").get_json()["items"]
    assert [item["id"] for item in listed] == [early["id"]]


def test_an_unencoded_plus_in_a_time_filter_is_read_as_the_offset(api: Api) -> None:
    late = api.create(detected_at="2026-11-27T08:00:00+08:00")
    listed = api.get("/incidents?since=2026-11-27T07:00:00+08:00").get_json()["items"]
    assert [item["id"] for item in listed] == [late["id"]]


def test_the_list_searches_title_and_number(api: Api) -> None:
    portal = api.create(title="门户网站首页被篡改")
    api.create(title="财务系统勒索病毒")
    assert [i["id"] for i in api.get("/incidents?q=门户").get_json()["items"]] == [portal["id"]]
    found = api.get(f"/incidents?q={portal['number']}").get_json()["items"]
    assert [i["id"] for i in found] == [portal["id"]]


def test_patching_changes_the_fields_given_and_bumps_the_version(any_api: Api) -> None:
    created = any_api.create()
    reply = any_api.patch(
        f"/incidents/{created['id']}",
        json={"title": "门户网站首页被篡改(已核实)", "location": "机房B"},
    )
    assert reply.status_code == 200
    body = reply.get_json()
    assert (body["title"], body["location"]) == ("门户网站首页被篡改(已核实)", "机房B")
    assert body["description"] == created["description"]
    assert body["version"] == created["version"] + 1


def test_patching_the_impact_recomputes_the_suggestion_not_the_grade(api: Api) -> None:
    created = api.create(grade="general")
    body = api.patch(
        f"/incidents/{created['id']}", json={"impact": {"economic_loss_cny": 20_000_000}}
    ).get_json()
    assert body["grade"] == "general"
    assert body["suggestion"]["grade"] == "major"
    assert body["below_suggestion"] is True


def test_the_timeline_lists_the_audit_events_in_order(any_api: Api) -> None:
    created = any_api.create()
    any_api.patch(f"/incidents/{created['id']}", json={"location": "机房B"})
    events = any_api.get(f"/incidents/{created['id']}/timeline").get_json()["items"]
    kinds = [event["kind"] for event in events]
    assert kinds[0] == "incident.created"
    assert "incident.updated" in kinds
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert all(event["source"] == "api" for event in events if event["kind"].startswith("inc"))
    assert events[0]["actor"]["login"] == "duty"


def test_the_timeline_of_an_invisible_incident_is_404(api: Api) -> None:
    created = api.create(system_ids=[api.system_id("finance-system")])
    assert api.get(f"/incidents/{created['id']}/timeline", as_="trafstaff").status_code == 404
