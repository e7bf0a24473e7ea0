"""incidents.bulk.insert_rows on both engines: one statement for many rows, conflicts
skipped, the written rows' ids given back, times and Chinese text kept exactly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from incidents.bulk import insert_rows
from incidents.models import IncidentCounter
from incidents.rosters import HolidayYear
from incidents.sessions import LoginThrottle
from tests.statements import statements


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def test_many_rows_go_in_one_statement_and_come_back_as_written(
    any_factory: sessionmaker[Session],
) -> None:
    table = _table(IncidentCounter)
    rows = [{"year": 2000 + i, "last": i} for i in range(300)]
    with any_factory() as s, s.begin():
        with statements(s.get_bind()) as seen:  # type: ignore[arg-type]
            written = insert_rows(
                s.connection(), table, rows, skip_conflicts_on=("year",), returning=("year",)
            )
        assert [q.split()[0] for q in seen if not q.startswith("BEGIN")] == ["INSERT"]
        assert sorted(r.year for r in written) == [r["year"] for r in rows]
    with any_factory() as s, s.begin():
        again = insert_rows(
            s.connection(),
            table,
            [{"year": 2001, "last": 99}, {"year": 2400, "last": 7}],
            skip_conflicts_on=("year",),
            returning=("year",),
        )
        assert [r.year for r in again] == [2400]  # 2001 is there already: skipped
        assert s.scalar(select(IncidentCounter.last).where(IncidentCounter.year == 2001)) == 1


def test_times_text_booleans_and_nulls_are_stored_exactly(
    any_factory: sessionmaker[Session],
) -> None:
    beijing = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=beijing)
    address = '勒索病毒 "加密" \\ 50%_\n第二行'
    with any_factory() as s, s.begin():
        insert_rows(
            s.connection(),
            _table(LoginThrottle),
            [{"address": address, "window_start": at, "failures": 3}],
        )
        insert_rows(
            s.connection(),
            _table(HolidayYear),
            [
                {"year": 2026, "seeded_from": "", "confirmed": True, "confirmed_at": at},
                {"year": 2027, "seeded_from": "", "confirmed": False, "confirmed_at": None},
            ],
        )
    with any_factory() as s:
        throttle = s.execute(select(LoginThrottle.address, LoginThrottle.window_start)).one()
        years = s.execute(
            select(HolidayYear.confirmed, HolidayYear.confirmed_at).order_by(HolidayYear.year)
        ).all()
    assert throttle.address == address
    assert throttle.window_start == at and throttle.window_start.tzinfo is not None
    assert [tuple(y) for y in years] == [(True, at), (False, None)]


def test_rows_must_agree_and_times_must_carry_a_zone(any_factory: sessionmaker[Session]) -> None:
    table = _table(IncidentCounter)
    with any_factory() as s, s.begin(), pytest.raises(ValueError, match="same columns"):
        insert_rows(s.connection(), table, [{"year": 1, "last": 1}, {"last": 2, "year": 2}])
    naive = [{"address": "x", "window_start": datetime(2026, 12, 4, 9, 30), "failures": 1}]
    with any_factory() as s, s.begin(), pytest.raises((ValueError, StatementError), match="naive"):
        insert_rows(s.connection(), _table(LoginThrottle), naive)
