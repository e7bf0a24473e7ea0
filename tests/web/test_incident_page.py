"""The incident page: clocks with time left, escalation with deliveries, the actions the
viewer may take, and each action's outcome as a message on the page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import EscalationChain
from incidents.clock import FrozenClock
from incidents.models import Incident
from incidents.org import Person
from tests.web.conftest import Browser, as_, open_


def _flash(page: str, kind: str = "ok") -> str:
    return page.split(f'class="flash {kind}"', 1)[1].split("</p>", 1)[0]


def test_it_shows_each_obligation_with_the_time_left(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    clock.advance(minutes=15)
    panel = duty.text(f"/incidents/{incident}").split('data-panel="obligations"', 1)[1]
    assert "00:45:00" in panel  # internal report, 1 h from detection
    assert "03:45:00" in panel  # CAC, 4 h for a local reporter (Art. 4)


def test_it_shows_times_in_the_policy_time_zone(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())  # 01:00 UTC
    assert "2026-11-27 09:00" in duty.text(f"/incidents/{incident}")


def test_it_shows_who_the_first_step_paged(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    panel = duty.text(f"/incidents/{incident}").split('data-panel="escalation"', 1)[1]
    for person in ("duty", "cchead", "netsec"):
        assert org[person].name in panel
    assert "waiting for acknowledgement" in panel or "等待确认" in panel


def test_the_director_may_acknowledge_but_not_file_a_report(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    page = as_(app, "director").text(f"/incidents/{incident}")
    assert 'data-action="acknowledge"' in page
    assert 'data-action="report"' not in page


def test_staff_outside_the_chain_see_no_actions(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    incident = open_(app, org, grade="general", at=clock.now(), department="traffic")
    page = as_(app, "trafstaff").text(f"/incidents/{incident}")
    assert "data-action=" not in page


def test_acknowledging_stops_the_chain_and_says_so(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    sessions: sessionmaker[Session],
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    netsec = as_(app, "netsec")
    reply = netsec.post(f"/incidents/{incident}/acknowledge")
    assert reply.status_code == 302
    with sessions() as s:
        chain = s.scalars(
            select(EscalationChain).where(EscalationChain.incident_id == incident)
        ).one()
    assert chain.acknowledged_at == clock.now()
    page = netsec.text(f"/incidents/{incident}")
    assert "flash ok" in page
    assert 'data-action="acknowledge"' not in page


def test_closing_while_a_report_is_owed_comes_back_as_a_message(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    sessions: sessionmaker[Session],
) -> None:
    incident = open_(app, org, grade="general", at=clock.now())
    duty.post(f"/incidents/{incident}/start")
    duty.post(f"/incidents/{incident}/resolve", {"reason": "已清除"})
    reply = duty.post(f"/incidents/{incident}/close")
    assert reply.status_code == 302
    page = duty.text(f"/incidents/{incident}")
    assert "仍有应报未报的报告，不能关闭" in _flash(page, "error")  # the domain error, in zh_CN
    with sessions() as s:
        assert s.get(Incident, incident).status == "resolved"  # type: ignore[union-attr]


def test_a_regrade_without_a_reason_is_refused_with_a_message(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    sessions: sessionmaker[Session],
) -> None:
    incident = open_(app, org, grade="general", at=clock.now())
    duty.post(f"/incidents/{incident}/regrade", {"grade": "major", "reason": ""})
    assert "flash error" in duty.text(f"/incidents/{incident}")
    with sessions() as s:
        assert s.get(Incident, incident).grade == "general"  # type: ignore[union-attr]


def test_an_upgrade_tightens_the_deadline_shown(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="general", at=clock.now())
    clock.advance(minutes=10)
    duty.post(
        f"/incidents/{incident}/regrade", {"grade": "major", "reason": "涉及关键信息基础设施"}
    )
    status = duty.text(f"/incidents/{incident}").split('data-panel="status"', 1)[1]
    assert "00:50:00" in status  # the major grade's internal hour, from detection


def test_escalate_now_pages_the_next_step(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    duty.post(f"/incidents/{incident}/escalate")
    page = duty.text(f"/incidents/{incident}")
    # The next page step of the major chain: 3(2) as responder (step 4; informs run apart).
    assert "第4步" in _flash(page) and org["netsec"].name in _flash(page)


def test_an_incident_of_another_department_is_not_found_for_a_department_head(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    incident = open_(app, org, grade="general", at=clock.now(), department="finance")
    assert as_(app, "trafhead").get(f"/incidents/{incident}").status_code == 404


def test_the_live_document_renders_the_same_panels(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    live = duty.get(f"/live/incidents/{incident}.json").get_json()
    assert live["status"] == "new"
    panels = {"status", "obligations", "receipts", "escalation", "actions", "timeline"}
    assert panels == set(live["panels"])
    assert "countdown" in live["panels"]["obligations"]
