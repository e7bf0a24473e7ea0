"""Duty handoffs on the web: who is on duty now, the handoff, and its acknowledgement."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from escalation.handoff_watch import HandoffDuty
from escalation.handoffs import DutyHandoff
from incidents import rosters
from incidents.audit import AuditEvent
from incidents.clock import FrozenClock
from incidents.org import Person
from incidents.responsibility import holders
from tests.escalation.support import HANDOFF, rotate_duty
from tests.web.conftest import Browser, as_, services_of


def hand_over(app: Flask, org: dict[str, Person]) -> int:
    """张晓明 (duty) hands the duty officer shift to 钱进 (trafstaff) at 08:30."""
    factory = services_of(app).sessions
    with factory() as s, s.begin():
        rotate_duty(s, org["duty"].id, org["trafstaff"].id)
    handoff_id = HandoffDuty(tz=services_of(app).policy.tz).run(factory, HANDOFF).handoff_id
    assert handoff_id is not None
    return handoff_id


def test_the_page_shows_who_is_on_duty_and_the_handoff_awaiting_acknowledgement(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    handoff_id = hand_over(app, org)
    page = duty.text("/handoffs")
    assert "钱进" in page and "2026-11-28 08:30" in page  # on duty until tomorrow 08:30
    # No leader-on-duty roster: the holders of its fallback position answer.
    with services_of(app).sessions() as s:
        fallback = holders(s, rosters.FALLBACK_POSITION["duty_leader"], clock.now())
    assert fallback and all(person.name in page for _pos, person in fallback)
    assert f"/handoffs/{handoff_id}" in page and "张晓明 → 钱进" in page
    assert f'action="/handoffs/{handoff_id}/acknowledge"' in page


def test_the_outgoing_officer_acknowledges_on_the_web_once(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    handoff_id = hand_over(app, org)
    reply = duty.post(f"/handoffs/{handoff_id}/acknowledge")
    assert reply.status_code == 302
    page = duty.text(f"/handoffs/{handoff_id}")
    assert "交接班已确认" in page and "张晓明" in page
    assert "/acknowledge" not in page
    incoming = as_(app, "trafstaff")
    incoming.post(f"/handoffs/{handoff_id}/acknowledge")
    assert "该交接班已由张晓明确认" in incoming.text(f"/handoffs/{handoff_id}")
    with services_of(app).sessions() as s:
        handoff = s.get_one(DutyHandoff, handoff_id)
        assert handoff.acknowledged_by_id == org["duty"].id
        assert handoff.acknowledged_via == "web" and handoff.acknowledged_at == clock.now()
        sources = s.scalars(
            select(AuditEvent.source).where(AuditEvent.kind == "handoff.acknowledged")
        ).all()
        assert sources == ["web"]


def test_someone_else_cannot_acknowledge_and_sees_no_button(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    handoff_id = hand_over(app, org)
    director = as_(app, "director")
    assert "/acknowledge" not in director.text(f"/handoffs/{handoff_id}")
    director.post(f"/handoffs/{handoff_id}/acknowledge")
    assert "只有交班或接班的值班员可以确认交接班" in director.text(f"/handoffs/{handoff_id}")
    with services_of(app).sessions() as s:
        assert s.get_one(DutyHandoff, handoff_id).acknowledged_at is None
    assert director.get("/handoffs/999").status_code == 404


def test_the_roster_pages_link_to_the_handoffs(duty: Browser) -> None:
    page = duty.get("/rosters").get_data(as_text=True)
    assert 'href="/handoffs"' in page
