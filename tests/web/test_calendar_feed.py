"""The per-person duty calendar feed: a secret address, iCalendar that parses, 404 otherwise
(issue 13, item 3)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from icalendar import Calendar
from sqlalchemy import select

from incidents import rosters
from incidents.audit import AuditEvent, system_actor
from incidents.calendar_feeds import CalendarFeed
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.web.conftest import Browser, services_of

ACTOR = system_actor("cli")
FEED = re.compile(r'value="(https?://[^"]+(/calendar/([A-Za-z0-9_-]+)\.ics))"')


@pytest.fixture
def duty_rosters(app: Flask, org: dict[str, Person], clock: FrozenClock) -> None:
    """Duty officers duty/cchead day about (08:30 handoff, duty on 1 November), the leader
    on duty netsec, and duty covering cchead's shift of 2 December."""
    now = clock.now()  # 27 November 2026, 09:00 in Asia/Shanghai
    with services_of(app).sessions() as s, s.begin():
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[org["duty"].id, org["cchead"].id],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 11, 1),
            actor=ACTOR,
            now=now,
        )
        rosters.set_rotation(
            s,
            "duty_leader",
            people=[org["netsec"].id],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 11, 1),
            actor=ACTOR,
            now=now,
        )
        rosters.add_override(
            s,
            "duty_officer",
            person_id=org["duty"].id,
            replaces_id=org["cchead"].id,
            starts_at=utc(2026, 12, 2, 0, 30),
            ends_at=utc(2026, 12, 3, 0, 30),
            actor=ACTOR,
            now=now,
            reason="调班",
        )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def make_feed(browser: Browser) -> tuple[str, str]:
    """Press the profile's button; the (path, secret) of the address shown once."""
    reply = browser.post("/profile/calendar-feed?lang=en")
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert "shown only this once" in page
    found = FEED.search(page)
    assert found is not None, page
    return found.group(2), found.group(3)


def events(app: Flask, path: str) -> list[dict[str, object]]:
    reply = app.test_client().get(path)  # a phone calendar: no cookie, no login
    assert reply.status_code == 200
    assert reply.mimetype == "text/calendar"
    calendar = Calendar.from_ical(reply.get_data())
    out = []
    for event in calendar.walk("VEVENT"):
        out.append(
            {
                "uid": str(event["UID"]),
                "start": event.decoded("DTSTART"),
                "end": event.decoded("DTEND"),
                "summary": str(event["SUMMARY"]),
                "description": str(event.get("DESCRIPTION", "")),
            }
        )
    return out


@pytest.mark.usefixtures("duty_rosters")
def test_the_feed_parses_and_holds_the_persons_shifts(
    app: Flask, duty: Browser, clock: FrozenClock
) -> None:
    path, _secret = make_feed(duty)
    found = events(app, path)
    by_start = {e["start"]: e for e in found}
    # duty's own shifts, day about, in UTC: 29 November 08:30 CST to 30 November 08:30.
    shift = by_start[utc(2026, 11, 29, 0, 30)]
    assert shift["end"] == utc(2026, 11, 30, 0, 30)
    assert shift["summary"] == "值班员 Duty officer"
    # The shift in progress counts from when the rotation began (now), not before it.
    assert by_start[clock.now()]["end"] == utc(2026, 11, 28, 0, 30)
    # cchead's days are not in duty's feed, except the one duty covers.
    assert utc(2026, 11, 28, 0, 30) not in by_start
    covered = by_start[utc(2026, 12, 2, 0, 30)]
    assert covered["end"] == utc(2026, 12, 3, 0, 30)
    assert "Covering" in str(covered["description"])
    # Its own shifts either side stay events of their own.
    assert by_start[utc(2026, 12, 1, 0, 30)]["end"] == utc(2026, 12, 2, 0, 30)
    assert by_start[utc(2026, 12, 3, 0, 30)]["end"] == utc(2026, 12, 4, 0, 30)
    assert "Covering" not in str(by_start[utc(2026, 12, 3, 0, 30)]["description"])
    # Every event is in UTC, and nothing past the next 90 days.
    assert all(e["start"].tzinfo is not None for e in found)  # type: ignore[attr-defined]
    assert all(e["start"].utcoffset() == timedelta(0) for e in found)  # type: ignore[attr-defined]
    assert max(e["start"] for e in found) < clock.now() + timedelta(days=90)  # type: ignore[type-var]
    assert min(e["start"] for e in found) >= clock.now()  # type: ignore[type-var]
    assert len(found) == len({e["uid"] for e in found})
    # The last shift is whole, not cut where the 90 days end.
    last = max(found, key=lambda e: e["start"])  # type: ignore[arg-type,return-value]
    assert last["end"] - last["start"] == timedelta(days=1)  # type: ignore[operator]


@pytest.mark.usefixtures("duty_rosters")
def test_uids_stay_the_same_for_the_same_shift(
    app: Flask, duty: Browser, clock: FrozenClock
) -> None:
    path, _secret = make_feed(duty)
    before = {e["start"]: e["uid"] for e in events(app, path)}
    clock.advance(days=3)
    after = {e["start"]: e["uid"] for e in events(app, path)}
    moment = utc(2026, 12, 5, 0, 30)
    assert before[moment] == after[moment]


@pytest.mark.usefixtures("duty_rosters")
def test_the_leader_on_duty_sees_the_role_in_both_languages(app: Flask) -> None:
    netsec = Browser(app)
    assert netsec.login("netsec").status_code == 302
    path, _secret = make_feed(netsec)
    found = events(app, path)
    assert found and all(e["summary"] == "带班领导 Leader on duty" for e in found)


@pytest.mark.usefixtures("duty_rosters")
def test_a_wrong_secret_gets_404(app: Flask, duty: Browser) -> None:
    path, secret = make_feed(duty)
    client = app.test_client()
    altered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for wrong in (altered, "x", secret.upper() if secret.upper() != secret else "y" * 43):
        assert client.get(f"/calendar/{wrong}.ics").status_code == 404
    assert client.get(path).status_code == 200


@pytest.mark.usefixtures("duty_rosters")
def test_a_rotated_secret_gets_404_and_the_new_one_works(app: Flask, duty: Browser) -> None:
    old_path, _old = make_feed(duty)
    new_path, new = make_feed(duty)
    client = app.test_client()
    assert old_path != new_path
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200
    with services_of(app).sessions() as s:
        rows = list(s.scalars(select(CalendarFeed)))
        assert [r.revoked_at is None for r in rows] == [False, True]
        # Only the digest is stored.
        assert rows[1].secret_hash == hashlib.sha256(new.encode()).hexdigest()
        assert all(new not in (r.secret_hash, r.prefix) for r in rows)
        kinds = s.scalars(
            select(AuditEvent.kind).where(AuditEvent.kind == "account.calendar_feed.rotated")
        ).all()
        assert len(kinds) == 2


def test_the_profile_shows_the_address_once_then_only_its_beginning(duty: Browser) -> None:
    assert "You have no calendar address yet." in duty.text("/profile?lang=en")
    _path, secret = make_feed(duty)
    page = duty.text("/profile?lang=en")
    assert secret not in page
    assert f"Your address beginning {secret[:6]}…" in page
    assert "Make a new address" in page


def test_making_an_address_needs_the_forms_token(app: Flask, duty: Browser) -> None:
    reply = duty.client.post("/profile/calendar-feed", data={})
    assert reply.status_code == 400
    with services_of(app).sessions() as s:
        assert s.scalars(select(CalendarFeed)).first() is None
