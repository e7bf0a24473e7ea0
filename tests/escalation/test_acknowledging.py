"""Acknowledging stops the chain, not the reporting deadlines; twice is harmless.

Times are minutes after T0 on a frozen clock; the incident is the traffic division's
(see test_walk for who the roles resolve to).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.queries import escalation_state
from incidents.audit import AuditEvent
from incidents.org import Person
from tests.escalation.support import (
    Walk,
    ack,
    at,
    kinds,
    open_,
    people,
    without_informs,
)


def test_acknowledging_stops_the_chain_but_not_the_reporting_deadline(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(12)
    assert ack(factory, org, incident_id, 12)
    walk.note()
    walk.to(245)
    after = without_informs(walk.between(13, 245))
    assert "step" not in kinds(after)
    assert after[30] == people("warning", "duty", "cchead")
    assert after[60] == people("breach", "netsec", "director", "lgoffice")
    assert after[240] == people("breach", "netsec", "director", "lgoffice")


def test_acknowledging_tells_everyone_paged_so_far(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(12)
    ack(factory, org, incident_id, 12)
    walk.note()
    assert walk.timeline[12] == people("acknowledged", "duty", "netsec", "director")


def test_a_second_acknowledgement_is_harmless(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    assert ack(factory, org, incident_id, 2) is True
    with factory() as s:
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    assert ack(factory, org, incident_id, 3, who="netsec") is False
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events
        state = escalation_state(s, incident_id)
    assert state["acknowledged_by"]["login"] == "cchead"
    assert state["acknowledged_at"] == at(2).isoformat()


def test_a_person_outside_the_chain_cannot_acknowledge(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from incidents.errors import Forbidden

    incident_id = open_(factory, org, "major")
    with pytest.raises(Forbidden):
        ack(factory, org, incident_id, 2, who="trafstaff")


def test_the_owning_department_head_may_acknowledge(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    assert ack(factory, org, incident_id, 2, who="trafhead")
