"""Notices from higher layers, and the audit chain after a full run of the clocks."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from escalation.notices import notify_people
from escalation.queries import escalation_state
from incidents.audit import system_actor, verify
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import Walk, notices, open_


def test_a_case_notice_reaches_the_people_named(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    seen = notices(factory, incident_id)[-1][0]
    with factory() as s, s.begin():
        written = notify_people(
            s,
            incident_id=incident_id,
            person_ids=[org["lgoffice"].id, org["hr"].id],
            text_zh="已立案,请出席认定会",
            text_en="A case is open",
            actor=system_actor("worker"),
            now=T0,
        )
    assert written == 2
    assert {(k, login) for _, k, login in notices(factory, incident_id, after_id=seen)} == {
        ("case", "lgoffice"),
        ("case", "hr"),
    }
    with factory() as s:
        (case,) = [t for t in escalation_state(s, incident_id)["notices"] if t["kind"] == "case"]
    assert case["status"] == "fired"
    assert sorted(r["login"] for r in case["recipients"]) == ["hr", "lgoffice"]


def test_the_audit_chain_stays_intact_through_the_clocks(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(241)
    with factory() as s:
        result = verify(s)
    assert result.ok, result.describe()
    assert result.count > 20  # the open, every firing, the breaches
