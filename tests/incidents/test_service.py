"""Record-level use cases: numbering, defaults, grading record, compare-and-set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from incidents.errors import Conflict, ValidationError
from incidents.inputs import IncidentInput
from incidents.models import Incident
from incidents.org import Person, System
from incidents.service import change_grade, change_status, create_incident, patch_incident
from tests.conftest import T0, actor_for


def _log(s: Session, person: Person, **fields: object) -> int:
    body = {
        "title": "门户网站无法访问",
        "category": "network_attack",
        "detected_at": (T0 - timedelta(minutes=5)).isoformat(),
        **fields,
    }
    return create_incident(s, data=IncidentInput.parse(body), actor=actor_for(person), now=T0).id


def test_numbers_run_per_year_without_gaps(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    with any_factory() as s, s.begin():
        numbers = [s.get_one(Incident, _log(s, any_org["duty"])).number for _ in range(3)]
    assert numbers == ["FH-2026-0001", "FH-2026-0002", "FH-2026-0003"]


def test_the_responsible_department_defaults_to_the_systems_owner_and_cii_is_inherited(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:

    with factory() as s, s.begin():
        platform = s.scalars(select(System).where(System.code == "traffic-platform")).one()
        incident = s.get_one(
            Incident,
            _log(s, org["duty"], system_ids=[platform.id], impact={"system_outage_minutes": 60}),
        )
        assert incident.responsible_department_id == platform.owner_department_id
        assert incident.impact["cii"] is True
        # CII whole-system outage of 1 h reaches major (重大) in the 2025 guide.
        assert incident.suggested_grade == "major"
        assert incident.grade == "major"


def test_a_grade_below_the_suggestion_is_recorded(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:

    with factory() as s, s.begin():
        incident = s.get_one(
            Incident, _log(s, org["duty"], grade="general", impact={"pi_records_leaked": 1_000_000})
        )
        assert incident.suggested_grade == "relatively_major"
        assert incident.below_suggestion is True


def test_detected_at_in_the_future_is_refused(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin(), pytest.raises(ValidationError) as err:
        _log(s, org["duty"], detected_at=(T0 + timedelta(hours=1)).isoformat())
    assert err.value.field == "detected_at"


def test_a_status_change_that_lost_a_race_is_a_conflict(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        incident_id = _log(s, org["duty"])
    actor = actor_for(org["cchead"])
    with factory() as first, first.begin():
        first_view = change_status(
            first, incident_id=incident_id, to="acknowledged", actor=actor, now=T0
        )
        assert first_view.status == "acknowledged"
    with factory() as s, s.begin(), pytest.raises(Conflict):
        change_status(s, incident_id=incident_id, to="acknowledged", actor=actor, now=T0)


def test_regrading_keeps_the_history(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:

    with factory() as s, s.begin():
        incident_id = _log(s, org["duty"], grade="general")
        result = change_grade(
            s,
            incident_id=incident_id,
            grade="major",
            reason="扩散",
            actor=actor_for(org["cchead"]),
            now=T0,
        )
        assert result.upgraded and result.previous == "general"
    with factory() as s:
        incident = s.get_one(Incident, incident_id)
        assert [(g.from_grade, g.to_grade) for g in incident.grade_changes] == [
            (None, "general"),
            ("general", "major"),
        ]


def test_patching_an_unknown_system_names_the_item(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        incident_id = _log(s, org["duty"])
    with factory() as s, s.begin(), pytest.raises(ValidationError) as err:
        patch_incident(
            s,
            incident_id=incident_id,
            data=IncidentInput.parse({"system_ids": [999]}, partial=True),
            actor=actor_for(org["duty"]),
            now=T0,
        )
    assert err.value.field == "system_ids[0]"
