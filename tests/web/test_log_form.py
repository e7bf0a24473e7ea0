"""The log form: it posts to the escalation use case (so the clocks start), marks the
field at fault, and suggests the grade as the impact facts are typed."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import Obligation
from incidents.models import Incident
from incidents.org import System
from tests.web.conftest import Browser, as_

FORM = {
    "title": "交通平台主要功能中断",
    "category": "equipment_failure",
    "detected_at": "2026-11-27T08:40",
}


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Incident)) or 0


def test_it_logs_an_incident_and_starts_its_reporting_clocks(
    duty: Browser, sessions: sessionmaker[Session]
) -> None:
    reply = duty.post("/incidents/new", {**FORM, "grade": "major"})
    assert reply.status_code == 302
    with sessions() as s:
        incident = s.scalars(select(Incident)).one()
        names = set(s.scalars(select(Obligation.name).where(Obligation.incident_id == incident.id)))
    assert reply.headers["Location"].endswith(f"/incidents/{incident.id}")
    assert {"internal", "external"} <= names


def test_it_reads_the_detection_time_in_the_policy_time_zone(
    duty: Browser, sessions: sessionmaker[Session]
) -> None:
    duty.post("/incidents/new", {**FORM, "grade": "general"})
    with sessions() as s:
        incident = s.scalars(select(Incident)).one()
    assert incident.detected_at.isoformat() == "2026-11-27T00:40:00+00:00"  # 08:40 in Shanghai


def test_without_a_chosen_grade_it_logs_nothing_and_marks_the_grade(
    duty: Browser, sessions: sessionmaker[Session]
) -> None:
    """Grading must not default low: with no facts typed the suggestion is 一般 (IV)."""
    reply = duty.post("/incidents/new", FORM)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert 'id="grade-error"' in page
    assert '<option value="">' in page and "selected>" not in page.split('id="grade"')[1][:400]
    assert _count(sessions) == 0


def test_a_cii_system_sets_the_cii_fact_on_the_form_and_the_record(
    duty: Browser, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        platform = s.scalars(select(System.id).where(System.code == "traffic-platform")).one()
    chosen = {**FORM, "system_ids": str(platform), "impact.system_outage_minutes": "75"}
    # Re-shown after an error, the CII box is ticked and the suggestion counts it.
    again = duty.post("/incidents/new", chosen).get_data(as_text=True)
    assert 'id="impact-cii" name="impact.cii" value="on" checked' in again
    assert duty.post("/grading/suggest", chosen).get_json()["grade"] == "major"
    duty.post("/incidents/new", {**chosen, "grade": "major"})
    with sessions() as s:
        incident = s.scalars(select(Incident)).one()
    assert incident.grade == "major"  # a CII system down for 1 h or more (二2)
    assert incident.impact["cii"] is True


def test_a_missing_title_is_marked_and_nothing_is_stored(
    duty: Browser, sessions: sessionmaker[Session]
) -> None:
    reply = duty.post("/incidents/new", {**FORM, "title": ""})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert 'id="title" name="title" maxlength="300" required value="" aria-invalid="true"' in page
    assert _count(sessions) == 0


def test_a_negative_impact_fact_is_marked_on_its_field(
    duty: Browser, sessions: sessionmaker[Session]
) -> None:
    reply = duty.post("/incidents/new", {**FORM, "impact.people_affected": "-5"})
    assert reply.status_code == 422
    assert 'id="impact-people_affected-error"' in reply.get_data(as_text=True)
    assert _count(sessions) == 0


def test_a_department_head_may_not_log(app: Flask) -> None:
    assert as_(app, "trafhead").get("/incidents/new").status_code == 403


def test_the_suggestion_follows_the_impact_typed(duty: Browser) -> None:
    reply = duty.post(
        "/grading/suggest",
        {"impact.pi_records_leaked": "12000000"},
        headers={"Accept": "application/json"},
    )
    answer = reply.get_json()
    assert answer["grade"] == "major"  # 10 million people's information or more (二5)
    assert 'data-grade="major"' in answer["html"]


def test_the_suggestion_with_no_facts_is_general(duty: Browser) -> None:
    answer = duty.post("/grading/suggest", {}).get_json()
    assert answer["grade"] == "general"


def test_the_suggestion_refuses_a_post_without_the_csrf_token(duty: Browser) -> None:
    reply = duty.client.post(
        "/grading/suggest", data={"impact.cii": "on"}, headers={"Accept": "application/json"}
    )
    assert reply.status_code == 400


def test_the_suggestion_accepts_the_token_in_a_header(duty: Browser) -> None:
    duty.get("/incidents/new")
    reply = duty.client.post(
        "/grading/suggest",
        data={"impact.people_affected": "150000"},
        headers={"Accept": "application/json", "X-CSRFToken": duty.token()},
    )
    assert reply.get_json()["grade"] == "relatively_major"
