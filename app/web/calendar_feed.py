"""A person's duty shifts as an iCalendar feed (RFC 5545) that phone calendars subscribe to.

``GET /calendar/<secret>.ics`` needs no login — a calendar app cannot log in — so the
address itself is the credential: ``incidents.calendar_feeds`` keeps its SHA-256 only
and looks the request up by that digest. An unknown, rotated or revoked secret gets the
same 404 as any missing page. The feed holds the shifts of the past ``PAST`` and the next
``AHEAD`` days, each one VEVENT whose UID stays the same for the same shift, in UTC, with
the role in Chinese and English; no incident or other detail is in it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Response
from icalendar import Calendar, Event, vDuration

from app.extensions import db, now
from app.web import bp
from incidents.calendar_feeds import person_for_feed, shifts_of_person
from incidents.errors import NotFound
from incidents.org import Person
from incidents.rosters import ROLE_NAMES, Shift

PAST = timedelta(days=30)
AHEAD = timedelta(days=90)
MARGIN = timedelta(days=1)
REFRESH = timedelta(hours=1)  # how often a client should fetch the feed again
UID_DOMAIN = "fenghuo"


def shift_uid(person_id: int, shift: Shift) -> str:
    """The same shift always gets the same UID, so a client updates it in place."""
    key = f"{shift.role}:{person_id}:{shift.starts_at.isoformat()}"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@{UID_DOMAIN}"


def summary(shift: Shift) -> str:
    zh, en = ROLE_NAMES[shift.role]
    text = f"{zh} {en}"
    if shift.holiday:
        text += " · 节假日 holiday"
    return text


def calendar_for(person: Person, shifts: list[Shift]) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Fenghuo//Duty roster//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"值班 Duty — {person.name}")
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    stamp = now()
    for shift in shifts:
        event = Event()
        event.add("uid", shift_uid(person.id, shift))
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.starts_at)
        event.add("dtend", shift.ends_at)
        event.add("summary", summary(shift))
        event.add("categories", [shift.role])
        if shift.override_id is not None:
            event.add("description", "替班 Covering (override)")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal


@bp.get("/calendar/<secret>.ics")
def calendar_feed(secret: str) -> Response:
    session = db()
    person = person_for_feed(session, secret)
    if person is None:
        raise NotFound("no such calendar feed", field="secret")
    at = now()
    start, end = at - PAST, at + AHEAD
    # A day's margin either side, so the shifts at the window's edges are whole (not cut
    # where the window happens to fall at this fetch) and keep their start, hence their UID.
    found = shifts_of_person(session, person.id, start - MARGIN, end + MARGIN)
    shifts = [s for s in found if s.ends_at > start and s.starts_at < end]
    body = calendar_for(person, shifts).to_ical()
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = 'inline; filename="duty.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    # The address is a secret: keep it out of search engines and other sites' logs.
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
