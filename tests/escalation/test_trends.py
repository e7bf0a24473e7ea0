"""Trends: month by month in the policy's zone, on both engines, in grouped SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from accountability import trends
from accountability.models import Case
from escalation import response
from escalation.trends import Period, parse_period
from incidents.errors import ValidationError
from incidents.org import Person
from tests.conftest import T0, actor_for
from tests.escalation.support import DEFAULT_POLICY, open_

TZ = DEFAULT_POLICY.tz
# 00:30 on 1 November in Shanghai: November there, still October in UTC.
NOV_1_LOCAL = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)


def test_months_follow_the_policy_zone_and_p90_is_the_nearest_rank(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    factory, org = any_factory, any_org
    october = open_(factory, org, "general", at=datetime(2026, 10, 10, 2, 0, tzinfo=UTC))
    boundary = open_(factory, org, "major", at=NOV_1_LOCAL)
    november = [open_(factory, org, "general", at=T0 + timedelta(hours=i)) for i in range(9)]
    for minutes, incident in enumerate([boundary, *november], start=1):
        at = (NOV_1_LOCAL if incident == boundary else T0) + timedelta(minutes=minutes)
        if incident != boundary:
            at += timedelta(hours=november.index(incident))
        with factory() as s, s.begin():
            response.acknowledge(s, incident_id=incident, actor=actor_for(org["cchead"]), now=at)
    with factory() as s, s.begin():
        s.add(
            Case(
                incident_id=october,
                subject_id=org["duty"].id,
                subject_role="duty_officer",
                subject_clause="5.1(a)",
                tier=2,
                opened_at=datetime(2026, 10, 20, tzinfo=UTC),
                updated_at=datetime(2026, 11, 2, tzinfo=UTC),
                decided_at=datetime(2026, 11, 2, tzinfo=UTC),
                status="decided",
            )
        )
    with factory() as s:
        f = trends.figures(s, Period(datetime(2026, 10, 1).date(), T0.date().replace(day=1)), TZ)
    assert f["months"] == ["2026-10", "2026-11"]
    assert f["incidents_by_grade"][0]["general"] == 1 and f["incidents_by_grade"][0]["major"] == 0
    assert f["incidents_by_grade"][1]["general"] == 9 and f["incidents_by_grade"][1]["major"] == 1
    ack = f["acknowledge"]
    assert ack["months"][0] == {"count": 0, "mean_seconds": None, "p90_seconds": None}
    # Ten acknowledgements in November after 1..10 minutes: mean 5.5 min, p90 the 9th.
    assert ack["months"][1] == {"count": 10, "mean_seconds": 330.0, "p90_seconds": 540.0}
    assert ack["total"] == {"count": 10, "mean_seconds": 330.0, "p90_seconds": 540.0}
    assert f["cases_opened"][0]["2"] == 1 and f["cases_opened"][1]["2"] == 0
    assert f["cases_decided"][1]["2"] == 1 and f["totals"]["cases_decided"]["2"] == 1
    assert f["totals"]["incidents"]["general"] == 10


def test_the_period_is_checked_naming_the_field() -> None:
    now = T0
    default = parse_period(None, None, now=now, tz=TZ)
    assert len(default.months) == 12 and default.last.month == 11
    assert parse_period("2026-01", "2026-03", now=now, tz=TZ).months[-1].month == 3
    for raw_from, raw_to, field in [
        ("2026-13", None, "from"),
        ("26-01", None, "from"),
        (None, "2026/01", "to"),
        ("2026-05", "2026-04", "from"),
        ("2027-01", "2027-02", "from"),
        ("2020-01", "2026-01", "to"),
    ]:
        with pytest.raises(ValidationError) as err:
            parse_period(raw_from, raw_to, now=now, tz=TZ)
        assert err.value.field == field, (raw_from, raw_to)
