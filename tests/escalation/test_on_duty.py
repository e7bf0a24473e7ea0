"""Chains that page the duty roster (值班表): ``on_duty:ROLE`` resolves when the step fires.

The incident opens at 09:00 in Asia/Shanghai with the duty officer ``duty`` on the shift
that ends at 09:30; a step due at 09:40 must page the officer on duty then, ``officehead``,
not the one on duty when the incident opened. With nobody on the roster the step falls
back to the holders of the position and the record says so.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.policy import ChainStep, Policy, PolicyError
from escalation.models import Timer
from escalation.sweep import sweep
from incidents import rosters
from incidents.audit import AuditEvent, system_actor
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY, notices, open_

ACTOR = system_actor("cli")


def _policy_paging_the_roster_at_forty_minutes() -> Policy:
    general = DEFAULT_POLICY.grade("general")
    chain = (
        ChainStep.from_dict({"after": "PT0S", "notify": ["command_center_head"]}),
        ChainStep.from_dict({"after": "PT40M", "notify": ["on_duty:duty_officer"]}),
    )
    grades = {**DEFAULT_POLICY.grades, "general": dataclasses.replace(general, chain=chain)}
    return dataclasses.replace(DEFAULT_POLICY, grades=grades)


def _rotation(factory: sessionmaker[Session], org: dict[str, Person], *logins: str) -> None:
    with factory() as s, s.begin():
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[org[login].id for login in logins],
            handoffs=["09:30"],
            period="daily",
            anchor_date=date(2026, 11, 26),  # 26 Nov 09:30 → 27 Nov 09:30: the first
            actor=ACTOR,
            now=T0 - timedelta(days=2),
            effective_from=T0 - timedelta(days=2),
        )


def _step_one(factory: sessionmaker[Session], incident_id: int) -> Timer:
    with factory() as s:
        return s.scalars(
            select(Timer).where(Timer.incident_id == incident_id, Timer.step_index == 1)
        ).one()


def test_the_step_pages_whoever_is_on_duty_when_it_fires_not_when_the_incident_opened(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    policy = _policy_paging_the_roster_at_forty_minutes()
    _rotation(factory, org, "duty", "officehead")
    with factory() as s:
        assert rosters.on_duty(s, "duty_officer", T0).login == "duty"  # type: ignore[union-attr]
    incident_id = open_(factory, org, "general", policy=policy)
    opened = {login for _, _, login in notices(factory, incident_id)}
    assert opened == {"cchead"}

    sweep(factory, now=T0 + timedelta(minutes=41), policy=policy)

    paged = [
        (kind, login)
        for _, kind, login in notices(factory, incident_id)
        if login not in opened or kind != "step"
    ]
    assert paged == [("step", "officehead")]
    timer = _step_one(factory, incident_id)
    assert timer.recipients == [
        {"target": "on_duty:duty_officer", "person_id": org["officehead"].id, "login": "officehead"}
    ]


def test_an_override_at_firing_time_beats_the_rotation(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    policy = _policy_paging_the_roster_at_forty_minutes()
    _rotation(factory, org, "duty", "officehead")
    incident_id = open_(factory, org, "general", policy=policy)
    with factory() as s, s.begin():  # officehead falls ill; trafstaff covers from 09:35
        rosters.add_override(
            s,
            "duty_officer",
            person_id=org["trafstaff"].id,
            starts_at=T0 + timedelta(minutes=35),
            ends_at=T0 + timedelta(hours=4),
            actor=ACTOR,
            now=T0 + timedelta(minutes=20),
            reason="病假",
        )
    sweep(factory, now=T0 + timedelta(minutes=41), policy=policy)
    assert [r["login"] for r in _step_one(factory, incident_id).recipients] == ["trafstaff"]


def test_with_nobody_on_the_roster_the_step_pages_the_position_and_says_so(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    policy = _policy_paging_the_roster_at_forty_minutes()
    incident_id = open_(factory, org, "general", policy=policy)  # no roster at all

    sweep(factory, now=T0 + timedelta(minutes=41), policy=policy)

    timer = _step_one(factory, incident_id)
    assert timer.recipients == [
        {
            "target": "on_duty:duty_officer",
            "person_id": org["duty"].id,
            "login": "duty",
            "fallback": "duty_officer",
        }
    ]
    with factory() as s:
        fired = [
            t
            for data in s.scalars(
                select(AuditEvent.data).where(AuditEvent.kind == "escalation.fired")
            )
            for t in json.loads(data)["timers"]
            if t["timer"] == timer.id
        ]
    assert fired[0]["fallback"] == {"on_duty:duty_officer": "duty_officer"}


def test_the_default_policy_pages_the_duty_officer_on_duty_and_informs_the_leader_on_duty(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    _rotation(factory, org, "officehead")
    with factory() as s, s.begin():
        rosters.set_rotation(
            s,
            "duty_leader",
            people=[org["director"].id],
            handoffs=["08:30"],
            period="weekly",
            anchor_date=date(2026, 11, 23),
            actor=ACTOR,
            now=T0 - timedelta(days=2),
            effective_from=T0 - timedelta(days=2),
        )
    incident_id = open_(factory, org, "relatively_major")
    told = {(kind, login) for _, kind, login in notices(factory, incident_id)}
    assert told == {("step", "officehead"), ("step", "cchead"), ("inform", "director")}


@pytest.mark.parametrize("target", ["on_duty:", "on_duty:director", "on_duty:duty_officer2"])
def test_a_policy_naming_an_unknown_roster_is_refused_naming_the_key(target: str) -> None:
    with pytest.raises(PolicyError) as caught:
        ChainStep.from_dict({"after": "PT0S", "notify": [target]}, key="grades.general.chain[0]")
    assert caught.value.key == "grades.general.chain[0].notify[0]"
    assert "on_duty:duty_officer" in str(caught.value)
