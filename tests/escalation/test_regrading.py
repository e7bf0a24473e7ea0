"""Regrading: an upgrade tightens deadlines and restarts the chain; a downgrade keeps
breaches and late filings."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from escalation.queries import obligations_of
from incidents.org import Person
from tests.escalation.support import (
    Walk,
    ack,
    at,
    file,
    kinds,
    open_,
    people,
    regrade,
    statuses,
    without_informs,
)


def test_an_upgrade_half_way_tightens_the_deadlines_and_restarts_the_chain(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    walk = Walk(factory, incident_id).to(30)
    regrade(factory, org, incident_id, 30, "major")
    walk.note()
    walk.to(245)
    # The general chain would have paged netsec and trafhead at 60; the major one runs
    # from the upgrade: the command center at once and every 5 min twice, 3(2) as
    # responder at 45; the deadlines count from detection.
    assert without_informs(walk.between(30, 245)) == {
        30: people("step", "duty", "cchead"),
        35: people("step", "duty", "cchead"),
        40: people("step", "duty", "cchead"),
        45: people("step", "netsec"),
        54: people("warning", "duty", "cchead"),  # internal: 1 h from detection
        60: people("breach", "netsec", "director", "lgoffice"),
        120: people("warning", "duty", "cchead"),
        216: people("warning", "duty", "cchead"),
        240: people("breach", "netsec", "director", "lgoffice"),
    }
    # …and informs 3(2) at once, the director at 40, the leading group at 60.
    assert ("inform", "netsec") in walk.timeline[30]
    assert ("inform", "director") in walk.timeline[40]
    assert people("inform", "lgmember", "lgoffice") <= walk.timeline[60]
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, walk.now())}
    assert rows["internal"]["due_at"] == at(60).isoformat()
    assert rows["external"]["due_at"] == at(240).isoformat()


def test_an_upgrade_past_the_new_deadlines_breaches_them_at_once(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    regrade(factory, org, incident_id, 720, "major")
    walk = Walk(factory, incident_id, minute=720).to(721)
    assert statuses(factory, incident_id, 721) == {
        "internal": "missed",
        "external": "missed",
        "final": "pending",
    }
    assert people("breach", "netsec", "director", "lgoffice") <= walk.timeline[721]


def test_an_upgraded_chain_must_be_acknowledged_again(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "general")
    assert ack(factory, org, incident_id, 5)
    regrade(factory, org, incident_id, 30, "major")
    walk = Walk(factory, incident_id, minute=30).to(41)
    assert without_informs(walk.timeline).get(40) == people("step", "duty", "cchead")
    assert ack(factory, org, incident_id, 41, who="netsec")
    walk.to(120)
    assert "step" not in kinds(walk.between(42, 120))


def test_a_downgrade_keeps_the_breach_and_waives_what_the_lower_grade_does_not_owe(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(100)
    regrade(factory, org, incident_id, 100, "general")
    walk.note()
    with factory() as s:
        rows = {r["name"]: r for r in obligations_of(s, incident_id, at(100))}
    assert rows["internal"]["status"] == "missed"
    assert rows["internal"]["due_at"] == at(60).isoformat()
    assert rows["external"]["status"] == "waived"
    assert rows["final"]["status"] == "waived"
    walk.to(245)
    # Nobody is paged again for the downgrade; the general chain goes on from T0 (4 h).
    # (What the leaders were already told keeps its receipts: informs run on their own.)
    assert 100 not in without_informs(walk.timeline)
    assert without_informs(walk.between(101, 245)) == {240: people("step", "netsec")}


def test_a_downgrade_keeps_a_late_filing(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(61)
    file(factory, org, incident_id, 65, obligation="internal", late_reason="系统故障")
    regrade(factory, org, incident_id, 70, "general")
    assert statuses(factory, incident_id, 70)["internal"] == "late"


def test_a_downgrade_settles_a_breach_due_before_the_sweep_saw_it(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    regrade(factory, org, incident_id, 61, "general")  # no sweep since the 60 min deadline
    assert statuses(factory, incident_id, 61)["internal"] == "missed"
