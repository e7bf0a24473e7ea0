"""未按要求上报 (5.1(a), 5.2(a), 5.3(a)): one tri-state answer, the same on every face.

``escalation.reporting`` decides it — *no* once any report is late, missed or pending
past its deadline; *not yet known* while one is still due in time; *yes* otherwise — and
the API, the incident page, the stats and the accountability facts all read it there.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from accountability import cases
from accountability.facts import case_facts
from accountability.models import Case
from escalation.models import Obligation
from escalation.sweep import sweep
from incidents.clock import FrozenClock
from incidents.errors import Conflict
from tests.accountability.conftest import Api
from tests.accountability.support import HOUR, POLICY, Bureau
from tests.conftest import T0

REPORTED = re.compile(r'data-reported="([a-z_]+)"')
KEY = {True: "yes", None: "not_yet_known", False: "no"}


def faces(
    app: Flask, api: Api, browser: Any, bureau: Bureau, clock: FrozenClock, incident: int, case: int
) -> dict[str, str]:
    """What each face says at the clock's time, as yes / no / not_yet_known."""
    obligations = api.get(f"/incidents/{incident}/obligations", as_="lgoffice").get_json()
    stats = api.get("/stats", as_="lgoffice").get_json()["reported_as_required"]
    page = browser.get(f"/incidents/{incident}").get_data(as_text=True)
    found = REPORTED.search(page)
    assert found is not None
    with bureau.factory() as s:
        row = s.get(Case, case)
        assert row is not None
        fact = case_facts(s, row, now=clock.now()).get("reported_as_required")
    facts_say = "not_yet_known" if fact.pending else KEY[bool(fact.value)]
    (stats_say,) = [key for key, count in stats.items() if count == 1]
    return {
        "api": obligations["reporting"]["state"],
        "api_value": KEY[obligations["reporting"]["reported_as_required"]],
        "web": found.group(1),
        "stats": stats_say,
        "facts": facts_say,
    }


def _all(value: str) -> dict[str, str]:
    return dict.fromkeys(("api", "api_value", "web", "stats", "facts"), value)


def test_every_face_agrees_from_pending_through_overdue_to_missed(
    app: Flask, api: Api, browser_as: Any, bureau: Bureau, clock: FrozenClock
) -> None:
    incident = bureau.open_incident("major")
    case = bureau.open_case(incident, "trafstaff", T0)
    browser = browser_as("lgoffice")

    def at(when: datetime) -> dict[str, str]:
        clock.set(when)
        return faces(app, api, browser, bureau, clock, incident, case)

    # Pending within its deadline (the internal report is due in 1 h): not yet known.
    assert at(T0 + HOUR / 2) == _all("not_yet_known")
    # Past the deadline, before any sweep has marked it missed: already "no".
    assert at(T0 + HOUR + HOUR / 60) == _all("no")
    with bureau.factory() as s:
        statuses = set(
            s.scalars(select(Obligation.status).where(Obligation.incident_id == incident))
        )
    assert statuses == {"pending"}
    # The sweep marks it missed: still "no", on every face.
    sweep(bureau.factory, now=T0 + HOUR + HOUR / 30, policy=POLICY)
    assert at(T0 + HOUR + HOUR / 30) == _all("no")


def test_a_determination_waits_while_a_report_is_still_due(bureau: Bureau) -> None:
    """A determination made while a report is due would rest on a guess."""
    incident = bureau.open_incident("general")
    case = bureau.open_case(incident, "trafstaff", T0 + HOUR)

    with pytest.raises(Conflict) as refused:
        bureau.run("lgoffice", T0 + HOUR, cases.determine, case_id=case)
    assert (refused.value.field, refused.value.code) == ("reported_as_required", "fact_pending")


def test_a_fact_that_changes_after_the_determination_flags_the_case_keeping_both(
    bureau: Bureau,
) -> None:
    """The 30-day final report (Art. 8) missed after a determination: re-determine."""
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + HOUR / 2, "internal")
    bureau.file(incident, T0 + 2 * HOUR, "external")
    bureau.resolve(incident, T0 + 10 * HOUR)
    day = T0 + 24 * HOUR
    case = bureau.open_case(incident, "trafstaff", day)
    # The final report is still due: the investigators take "reported" on their own word.
    bureau.find(case, day, impact="none", reported_as_required=True)
    first = bureau.run("lgoffice", day, cases.determine, case_id=case)
    assert first.tier == 2  # 5.2(c): handled promptly, no impact
    assert _changed(bureau, case, day) == []

    later = T0 + 10 * HOUR + 31 * 24 * HOUR
    sweep(bureau.factory, now=later, policy=POLICY)
    # The record beneath the override now says the final report was missed: flagged.
    assert _changed(bureau, case, later) == ["reported_as_required"]

    bureau.find(case, later, reported_as_required=False)
    second = bureau.run("lgoffice", later, cases.determine, case_id=case)
    assert [c["id"] for c in second.assessment["clauses"]] == ["5.2(a)", "5.2(c)"]
    kept = bureau.case(case).determinations
    assert [d.id for d in kept] == [first.id, second.id]
    assert kept[0].facts["reported_as_required"] is True
    assert _changed(bureau, case, later) == []


def _changed(bureau: Bureau, case: int, at: datetime) -> list[str]:
    from accountability.present import case_detail

    with bureau.factory() as s:
        row = s.get(Case, case)
        assert row is not None
        changed: list[str] = case_detail(s, row, now=at)["changed_facts"]
        return changed
