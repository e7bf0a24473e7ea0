"""The duty rosters over the API: reading who is on duty, changing the roster and the holiday
table, importing a month; 422 naming the field, 403 without the keeper's rights."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from incidents.audit import system_actor
from incidents.org_io import import_org
from incidents.rosters import RosterOverride
from tests.api.conftest import Api, services_of

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "roster-sample.xlsx"
DUTY_TEAM = ROOT / "app" / "demo" / "duty_team.yaml"
KEEPER = "cchead"  # the command center head keeps the roster


def iso(moment: datetime) -> str:
    return moment.isoformat()


def rotation(api: Api, *logins: str, **extra: Any) -> dict[str, Any]:
    body = {
        "role": "duty_officer",
        "people": [api.person_id(login) for login in logins],
        "handoffs": ["08:30"],
        "period": "daily",
        "anchor_date": "2026-11-01",
        **extra,
    }
    reply = api.post("/rosters/rotation", json=body, as_=KEEPER)
    assert reply.status_code == 201, reply.get_json()
    found: dict[str, Any] = reply.get_json()
    return found


def error(reply: Any, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.get_json()
    found: dict[str, Any] = reply.get_json()["error"]
    return found


def overrides(api: Api) -> int:
    with services_of(api.app).sessions() as s:
        return s.scalar(select(func.count()).select_from(RosterOverride)) or 0


def test_rosters_list_their_rotation_and_who_is_on_duty_now(api: Api) -> None:
    assert api.get("/rosters").get_json() == {"items": []}
    made = rotation(api, "duty", "cchead")
    assert made["handoffs"] == ["08:30"] and made["period"] == "daily"
    items = api.get("/rosters", as_="trafstaff").get_json()["items"]
    assert [i["role"] for i in items] == ["duty_officer"]
    assert items[0]["timezone"] == "Asia/Shanghai"
    assert items[0]["rotation"]["people"] == [api.person_id("duty"), api.person_id("cchead")]
    # 27 November 2026 09:00 CST: the 27th from 1 November, duty's day.
    assert items[0]["on_duty"]["person"]["login"] == "duty"


def test_on_duty_now_and_at_a_past_moment_after_an_edit(api: Api) -> None:
    rotation(api, "duty", "cchead")
    before = api.clock.now()
    api.clock.advance(days=2)  # 29 November, duty's day again
    rotation(api, "netsec")
    now = api.get("/rosters/on-duty?role=duty_officer").get_json()
    assert now["shift"]["person"]["login"] == "netsec"
    then = api.get(f"/rosters/on-duty?role=duty_officer&at={iso(before)}").get_json()
    assert then["shift"]["person"]["login"] == "duty"
    assert datetime.fromisoformat(then["at"]) == before
    nobody = api.get("/rosters/on-duty?role=duty_leader").get_json()
    assert nobody["shift"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("role=boss", "role"),
        ("", "role"),
        ("role=duty_officer&at=yesterday", "at"),
        ("role=duty_officer&at=2026-11-27T09:00:00", "at"),  # no zone
        ("role=duty_officer&when=now", "when"),
        ("role=duty_officer&at=0001-01-01T00:00:00%2B14:00", "at"),
    ],
)
def test_on_duty_refuses_a_bad_query_naming_the_parameter(api: Api, query: str, field: str) -> None:
    assert error(api.get(f"/rosters/on-duty?{query}"), 422)["field"] == field


def test_shifts_between_two_moments(api: Api) -> None:
    rotation(api, "duty", "cchead")
    since = api.clock.now()
    until = since + timedelta(days=3)
    reply = api.get(f"/rosters/shifts?role=duty_officer&since={iso(since)}&until={iso(until)}")
    assert reply.status_code == 200, reply.get_json()
    items = reply.get_json()["items"]
    assert [i["person"]["login"] for i in items] == ["duty", "cchead", "duty", "cchead"]
    assert datetime.fromisoformat(items[1]["starts_at"]) == datetime(
        2026, 11, 28, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("role=duty_officer&until=2026-12-01T00:00:00Z", "since"),
        ("role=duty_officer&since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z", "until"),
        ("role=duty_officer&since=2026-01-01T00:00:00Z&until=2026-12-01T00:00:00Z", "until"),
    ],
)
def test_shifts_refuse_a_bad_span(api: Api, query: str, field: str) -> None:
    assert error(api.get(f"/rosters/shifts?{query}"), 422)["field"] == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"handoffs": ["25:00"]}, "handoffs[0]"),
        ({"handoffs": []}, "handoffs"),
        ({"people": [999_999]}, "people[0]"),
        ({"people": []}, "people"),
        ({"period": "monthly"}, "period"),
        ({"role": "boss"}, "role"),
        ({"anchor_date": "1 November"}, "anchor_date"),
        ({"effective_from": "2026-12-01"}, "effective_from"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_rotation_is_a_422_naming_the_field_and_stores_nothing(
    api: Api, change: dict[str, Any], field: str
) -> None:
    body = {
        "role": "duty_officer",
        "people": [api.person_id("duty")],
        "handoffs": ["08:30"],
        "period": "daily",
        "anchor_date": "2026-11-01",
        **change,
    }
    before = api.counts()
    assert error(api.post("/rosters/rotation", json=body, as_=KEEPER), 422)["field"] == field
    assert api.counts() == before


VALID_OVERRIDE = {
    "role": "duty_officer",
    "person_id": 1,
    "starts_at": "2026-11-28T00:30:00Z",
    "ends_at": "2026-11-29T00:30:00Z",
}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        (
            "POST",
            "/rosters/rotation",
            {
                "json": {
                    "role": "duty_officer",
                    "people": [1],
                    "handoffs": ["08:30"],
                    "period": "daily",
                    "anchor_date": "2026-11-01",
                }
            },
        ),
        ("POST", "/rosters/overrides", {"json": VALID_OVERRIDE}),
        (
            "POST",
            "/rosters/swaps",
            {
                "json": {
                    "role": "duty_officer",
                    "first": "2026-11-29T06:00:00Z",
                    "second": "2026-11-30T06:00:00Z",
                }
            },
        ),
        ("DELETE", "/rosters/overrides/1", {}),
        ("PUT", "/holidays/2027", {"json": {"days": []}}),
        ("POST", "/holidays/2027/confirm", {}),
        ("POST", "/rosters/import", {"data": {"month": "2026-12"}}),
    ],
)
@pytest.mark.parametrize("login", ["duty", "trafstaff"])
def test_changing_rosters_is_for_their_keepers(
    api: Api, method: str, path: str, kwargs: dict[str, Any], login: str
) -> None:
    before = api.counts()
    assert error(api.call(method, path, as_=login, **kwargs), 403)["code"] == "forbidden"
    assert api.counts() == before


def test_reading_needs_a_token(api: Api) -> None:
    assert api.get("/rosters", as_=None).status_code == 401
    assert api.get("/rosters/on-duty?role=duty_officer", as_=None).status_code == 401


def test_an_override_covers_and_revoking_it_ends_it_from_now(api: Api) -> None:
    rotation(api, "duty", "cchead")
    start = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # cchead's day
    body = {
        "role": "duty_officer",
        "person_id": api.person_id("netsec"),
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(days=1)),
        "replaces_id": api.person_id("cchead"),
        "reason": "病假",
    }
    reply = api.post("/rosters/overrides", json=body, as_=KEEPER)
    assert reply.status_code == 201, reply.get_json()
    made = reply.get_json()
    assert made["kind"] == "override" and made["revoked_at"] is None
    at = f"/rosters/on-duty?role=duty_officer&at={iso(start + timedelta(hours=1))}"
    assert api.get(at).get_json()["shift"]["person"]["login"] == "netsec"
    reply = api.call("DELETE", f"/rosters/overrides/{made['id']}", as_=KEEPER)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["revoked_at"] is not None
    assert api.get(at).get_json()["shift"]["person"]["login"] == "cchead"
    assert error(api.call("DELETE", "/rosters/overrides/99999", as_=KEEPER), 404)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"ends_at": "2026-11-27T00:00:00Z"}, 422, "ends_at"),
        ({"starts_at": "soon"}, 422, "starts_at"),
        ({"person_id": 0}, 422, "person_id"),
        ({"person_id": 999_999}, 422, "person_id"),
        ({"reason": 5}, 422, "reason"),
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, 422, "starts_at"),
        ({"ends_at": "9999-12-31T23:59:59-14:00"}, 422, "ends_at"),
        ({"role": "technical_oncall"}, 404, "role"),  # no roster for that role yet
    ],
)
def test_a_bad_override_is_refused_naming_the_field(
    api: Api, change: dict[str, Any], status: int, field: str
) -> None:
    rotation(api, "duty", "cchead")
    body = {
        "role": "duty_officer",
        "person_id": api.person_id("netsec"),
        "starts_at": "2026-11-28T00:30:00Z",
        "ends_at": "2026-11-29T00:30:00Z",
        **change,
    }
    count = overrides(api)
    found = error(api.post("/rosters/overrides", json=body, as_=KEEPER), status)
    assert found["field"] == field
    assert overrides(api) == count


def test_a_swap_exchanges_two_shifts(api: Api) -> None:
    rotation(api, "duty", "cchead")
    first = "2026-11-29T06:00:00Z"  # duty's
    second = "2026-11-30T06:00:00Z"  # cchead's
    reply = api.post(
        "/rosters/swaps",
        json={"role": "duty_officer", "first": first, "second": second, "reason": "调班"},
        as_=KEEPER,
    )
    assert reply.status_code == 201, reply.get_json()
    assert [o["kind"] for o in reply.get_json()["items"]] == ["swap", "swap"]
    who = api.get(f"/rosters/on-duty?role=duty_officer&at={first}").get_json()
    assert who["shift"]["person"]["login"] == "cchead"
    who = api.get(f"/rosters/on-duty?role=duty_officer&at={second}").get_json()
    assert who["shift"]["person"]["login"] == "duty"
    # After the swap cchead holds the 29th, and the 2nd is cchead's own: nothing to swap.
    same = {"role": "duty_officer", "first": first, "second": "2026-12-02T06:00:00Z"}
    assert error(api.post("/rosters/swaps", json=same, as_=KEEPER), 422)["field"] == "second"


def test_holidays_are_replaced_read_and_confirmed(api: Api) -> None:
    days = [
        {"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"day": "2027-02-07", "kind": "workday", "name": "春节调休"},
    ]
    reply = api.call("PUT", "/holidays/2027", json={"days": days}, as_=KEEPER)
    assert reply.status_code == 200, reply.get_json()
    assert [d["day"] for d in reply.get_json()["days"]] == ["2027-01-01", "2027-02-07"]
    assert reply.get_json()["confirmed"] is False
    # PUT replaces: a day left out is cleared.
    reply = api.call("PUT", "/holidays/2027", json={"days": days[:1]}, as_=KEEPER)
    assert [d["day"] for d in reply.get_json()["days"]] == ["2027-01-01"]
    read = api.get("/holidays/2027", as_="trafstaff").get_json()
    assert read["days"] == [
        {"day": "2027-01-01", "kind": "holiday", "name": "元旦", "source": "admin"}
    ]
    reply = api.post("/holidays/2027/confirm", as_=KEEPER)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["confirmed"] is True and reply.get_json()["confirmed_at"]


@pytest.mark.parametrize(
    ("days", "field"),
    [
        ([{"day": "2026-12-31", "kind": "holiday"}], "days[0].day"),
        ([{"day": "2027-13-01", "kind": "holiday"}], "days[0].day"),
        ([{"day": "2027-01-01", "kind": "party"}], "days[0].kind"),
        (
            [{"day": "2027-01-01", "kind": "holiday"}, {"day": "2027-01-01", "kind": "workday"}],
            "days[1].day",
        ),
        ("all", "days"),
    ],
)
def test_a_bad_holiday_table_is_a_422_naming_the_field(api: Api, days: Any, field: str) -> None:
    before = api.counts()
    reply = api.call("PUT", "/holidays/2027", json={"days": days}, as_=KEEPER)
    assert error(reply, 422)["field"] == field
    assert api.counts() == before


def test_a_year_out_of_range_is_refused(api: Api) -> None:
    assert error(api.get("/holidays/1999"), 422)["field"] == "year"


def upload(data: bytes, name: str, **form: str) -> dict[str, Any]:
    return {"data": {"file": (io.BytesIO(data), name), **form}}


def load_duty_team(api: Api) -> None:
    """The demo's duty team beside the organisation: the sample names them."""
    with services_of(api.app).sessions() as s, s.begin():
        import_org(
            s, DUTY_TEAM.read_text(encoding="utf-8"), actor=system_actor("cli"), now=api.clock.now()
        )


def test_the_sample_month_imports_through_the_api(api: Api) -> None:
    load_duty_team(api)
    data = SAMPLE.read_bytes()
    reply = api.post("/rosters/import", as_=KEEPER, **upload(data, SAMPLE.name, month="2026-12"))
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["days"] == 31 and body["checked_only"] is False
    assert body["overrides"] == {"duty_officer": 31, "duty_leader": 31, "technical_oncall": 31}
    who = api.get("/rosters/on-duty?role=duty_leader&at=2026-12-03T04:00:00Z").get_json()
    assert who["shift"]["person"]["login"] == "deputy"  # 赵立新, by name
    who = api.get("/rosters/on-duty?role=technical_oncall&at=2026-12-07T04:00:00Z").get_json()
    assert who["shift"]["person"]["login"] == "tech2"  # by login


def test_checking_a_file_writes_nothing(api: Api) -> None:
    load_duty_team(api)
    data = SAMPLE.read_bytes()
    before = api.counts()
    reply = api.post(
        "/rosters/import", as_=KEEPER, **upload(data, "x.xlsx", month="2026-12", check="true")
    )
    assert reply.status_code == 200 and reply.get_json()["checked_only"] is True
    assert api.counts() == before and overrides(api) == 0


def test_a_broken_file_is_a_422_naming_row_and_column_and_writes_nothing(api: Api) -> None:
    load_duty_team(api)
    book = load_workbook(SAMPLE)
    book.worksheets[0]["D7"] = "张三"
    out = io.BytesIO()
    book.save(out)
    before = api.counts()
    reply = api.post(
        "/rosters/import", as_=KEEPER, **upload(out.getvalue(), "x.xlsx", month="2026-12")
    )
    found = error(reply, 422)
    assert found["field"] == "file"
    assert found["message"].startswith("row 7, column D (带班领导): no person named 张三")
    assert found["params"]["row"] == 7 and found["params"]["column"] == "D"
    assert api.counts() == before and overrides(api) == 0


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"json": {"month": "2026-12"}}, 415, "Content-Type"),
        ({"data": {"month": "2026-12"}, "content_type": "multipart/form-data"}, 422, "file"),
        (upload(b"a,b", "x.csv"), 422, "month"),
        (upload(b"a,b", "x.csv", month="12/2026"), 422, "month"),
        (upload(b"a,b", "x.csv", month="2026-12", check="maybe"), 422, "check"),
        (upload(b"a,b", "x.csv", month="2026-12", colour="red"), 422, "colour"),
    ],
)
def test_a_bad_import_request_names_the_field(
    api: Api, kwargs: dict[str, Any], status: int, field: str
) -> None:
    assert error(api.post("/rosters/import", as_=KEEPER, **kwargs), status)["field"] == field
