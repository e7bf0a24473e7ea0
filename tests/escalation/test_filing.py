"""Filing reports: what a filing fulfils, on time or late, and what it stops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from escalation.queries import obligations_of
from incidents.errors import Conflict, ValidationError
from incidents.org import Person
from tests.escalation.support import (
    DEFAULT_POLICY,
    Walk,
    ack,
    at,
    file,
    kinds,
    open_,
    people,
    statuses,
    without_informs,
)


def test_filing_the_report_stops_its_deadline_alerts(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(20)
    ack(factory, org, incident_id, 20)
    file(factory, org, incident_id, 20, obligation="internal")
    walk.note()
    walk.to(245)
    after = without_informs(walk.between(21, 245))
    assert 54 not in after and 60 not in after  # the internal report's warning and breach
    assert after[120] == people("warning", "duty", "cchead")  # external still runs
    assert statuses(factory, incident_id, 245) == {
        "internal": "met",
        "external": "missed",
        "final": "pending",
    }


def test_an_initial_report_without_a_choice_fulfils_every_initial_obligation(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(15)
    file(factory, org, incident_id, 15)
    walk.to(245)
    # The report delivered to the leadership and the informs (with their unconfirmed
    # receipts going one up): nothing about deadlines.
    assert not {"warning", "breach"} & kinds(walk.between(16, 245))
    assert statuses(factory, incident_id, 245) == {
        "internal": "met",
        "external": "met",
        "final": "pending",
    }


def test_a_breach_alerts_once_and_marks_the_report_missed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(200)
    breaches = sorted(
        (m, e) for m, events in walk.timeline.items() for e in events if e[0] == "breach"
    )
    assert breaches == sorted(
        (60, ("breach", login)) for login in ("netsec", "director", "lgoffice")
    )
    assert statuses(factory, incident_id, 200)["internal"] == "missed"


def test_filing_after_a_breach_makes_it_late_with_the_reason(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(61)
    file(factory, org, incident_id, 70, obligation="internal", late_reason="值班交接延误")
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, at(70))}
    assert rows["internal"]["status"] == "late"
    assert rows["internal"]["late_reason"] == "值班交接延误"
    assert rows["internal"]["breached_at"] == at(60).isoformat()


def test_a_late_filing_needs_a_reason(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with pytest.raises(ValidationError) as err:
        file(factory, org, incident_id, 61, obligation="internal")
    assert err.value.field == "late_reason"


def test_filing_just_at_the_deadline_is_on_time(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 60, obligation="internal")
    assert statuses(factory, incident_id, 60)["internal"] == "met"


def test_filing_the_same_initial_report_twice_is_a_conflict(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 5, obligation="internal")
    with pytest.raises(Conflict):
        file(factory, org, incident_id, 6, obligation="internal")


def test_a_supplement_needs_the_initial_report_first(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    with pytest.raises(Conflict):
        file(factory, org, incident_id, 5, kind="supplement", trend="事态已控制")
    file(factory, org, incident_id, 6)
    file(factory, org, incident_id, 7, kind="supplement", trend="事态已控制")


def test_until_reported_steps_page_until_the_initial_reports_are_filed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from config.policy import ChainStep, Policy

    major = DEFAULT_POLICY.grade("major")
    nag = ChainStep(
        timedelta(minutes=30), ("person:officehead",), "reported", timedelta(minutes=20), 5
    )
    grades = dict(
        DEFAULT_POLICY.grades,
        major=type(major)(
            major.handling_target,
            major.breach_notify,
            major.warn_at,
            major.obligations,
            (*major.chain, nag),
        ),
    )
    policy = Policy(
        DEFAULT_POLICY.reporter_category,
        DEFAULT_POLICY.timezone,
        grades,
        DEFAULT_POLICY.redact_titles,
        DEFAULT_POLICY.outbox,
    )
    incident_id = open_(factory, org, "major", policy=policy)
    ack(factory, org, incident_id, 1)
    walk = Walk(factory, incident_id, policy=policy).to(55)
    assert walk.timeline[30] >= people("step", "officehead")  # acknowledged: still paged
    assert walk.timeline[50] == people("step", "officehead")
    file(factory, org, incident_id, 55)
    walk.to(130)
    assert ("step", "officehead") not in set().union(*walk.between(56, 130).values())
