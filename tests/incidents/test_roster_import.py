"""Importing a month of the duty roster from the office's xlsx or CSV (issue 13, item 3)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from incidents import rosters
from incidents.audit import AuditEvent, system_actor
from incidents.errors import ValidationError
from incidents.org import Person
from incidents.org_io import import_org
from incidents.roster_import import import_month
from incidents.rosters import Roster, RosterOverride

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DUTY_TEAM = ROOT / "app" / "demo" / "duty_team.yaml"
SAMPLE_XLSX = DOCS / "roster-sample.xlsx"
SAMPLE_CSV = DOCS / "roster-sample.csv"
ACTOR = system_actor("cli")
NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def cst(day: int, hour: int, minute: int = 0) -> datetime:
    """A December 2026 moment in Asia/Shanghai, as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture(autouse=True)
def duty_team(factory: sessionmaker[Session], org: dict[str, Person]) -> None:
    """The demo's duty team beside the organisation: the sample names them."""
    with factory.begin() as s:
        import_org(s, DUTY_TEAM.read_text(encoding="utf-8"), actor=ACTOR, now=NOW)


def who(session: Session, role: str, at: datetime) -> str | None:
    person = rosters.on_duty(session, role, at)
    return person.login if person is not None else None


def counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(RosterOverride)) or 0,
        session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        session.scalar(select(func.count()).select_from(Roster)) or 0,
    )


def run(session: Session, data: bytes, name: str, month: str = "2026-12") -> object:
    return import_month(session, data=data, filename=name, month=month, actor=ACTOR, now=NOW)


def sample_with(**cells: object) -> bytes:
    """The sample workbook with some cells changed (``D7="张三"``)."""
    book = load_workbook(SAMPLE_XLSX)
    sheet = book.worksheets[0]
    for ref, value in cells.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("sample", [SAMPLE_XLSX, SAMPLE_CSV], ids=["xlsx", "csv"])
def test_the_sample_month_imports_as_overrides_of_each_day(
    factory: sessionmaker[Session], org: dict[str, Person], sample: Path
) -> None:
    with factory.begin() as s:
        result = import_month(
            s, data=sample.read_bytes(), filename=sample.name, month="2026-12", actor=ACTOR, now=NOW
        )
        assert result.days == 31
        assert result.overrides == {"duty_officer": 31, "duty_leader": 31, "technical_oncall": 31}
    with factory() as s:
        # Names and logins both resolve; each day runs 08:30–08:30 CST (no rotation yet).
        assert who(s, "duty_officer", cst(1, 8, 29)) is None
        assert who(s, "duty_officer", cst(1, 8, 30)) == "duty"  # 张晓明
        assert who(s, "duty_officer", cst(2, 3, 10)) == "duty"  # still the 1st's shift
        assert who(s, "duty_officer", cst(2, 8, 30)) == "duty2"  # 王磊
        assert who(s, "duty_leader", cst(3, 12)) == "deputy"  # 赵立新
        assert who(s, "technical_oncall", cst(6, 12)) == "tech1"  # by login
        assert who(s, "technical_oncall", cst(7, 12)) == "tech2"  # Monday, the next week
        # The last shift ends on 1 January at 08:30.
        assert who(s, "duty_officer", datetime(2027, 1, 1, 0, 29, tzinfo=UTC)) == "duty3"
        assert who(s, "duty_officer", datetime(2027, 1, 1, 0, 30, tzinfo=UTC)) is None
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "roster.imported")).one()
        assert event.payload["file"] == sample.name and event.payload["month"] == "2026-12"
        overrides = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "roster.import")
        )
        assert overrides == 93  # every override audited on its own


def test_the_csv_and_the_xlsx_give_the_same_shifts(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    start, end = cst(1, 0), cst(31, 23)
    plans = []
    for sample in (SAMPLE_XLSX, SAMPLE_CSV):
        with factory.begin() as s:
            run(s, sample.read_bytes(), sample.name)
            plans.append(
                [
                    (x.starts_at, x.ends_at, x.person_id)
                    for role in rosters.ROLES
                    for x in rosters.shifts_between(s, role, start, end)
                ]
            )
    assert plans[0] == plans[1]
    assert len(plans[0]) > 60


def test_a_broken_xlsx_names_row_and_column_and_writes_nothing(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    data = sample_with(D7="张三")  # row 7 is 5 December; column D is 带班领导
    with factory() as s:
        before = counts(s)
    with pytest.raises(ValidationError) as caught, factory.begin() as s:
        run(s, data, "broken.xlsx")
    assert str(caught.value) == "row 7, column D (带班领导): no person named 张三"
    assert caught.value.params["row"] == 7 and caught.value.params["column"] == "D"
    with factory() as s:
        assert counts(s) == before
        assert rosters.roster_for(s, "duty_leader") is None


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"A5": "十二月三日"}, "row 5, column A (日期): '十二月三日' is not a date"),
        ({"A5": "2026-02-30"}, "row 5, column A (日期): '2026-02-30' is not a date"),
        ({"A5": date(2027, 1, 3)}, "row 5, column A (日期): 2027-01-03 is not in 2026-12"),
        ({"A5": "12月1日"}, "row 5, column A (日期): 2026-12-01 is given twice (first on row 3)"),
        ({"A5": None}, "row 5, column A (日期): the date is missing"),
        ({"C9": "nobody"}, "row 9, column C (值班员): no person named nobody"),
        ({"A2": "Datum"}, "row 1: no header row; one of the first 10 rows must name the columns"),
        (
            {"C2": "值班", "D2": "领导", "E2": "技术"},
            "row 2: the header names no roster column",
        ),
        ({"D2": "值班员"}, "row 2, column D (值班员): duty_officer has a column already: C"),
    ],
)
def test_each_problem_is_named_by_row_and_column(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    cells: dict[str, object],
    expected: str,
) -> None:
    data = sample_with(**cells)
    with factory() as s:
        before = counts(s)
        with pytest.raises(ValidationError) as caught:
            run(s, data, "broken.xlsx")
        s.rollback()
        assert str(caught.value).startswith(expected)
        assert caught.value.field == "file"
        assert counts(s) == before


def test_an_inactive_person_is_refused(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory.begin() as s:
        s.get(Person, org["cchead"].id).active = False  # type: ignore[union-attr]
    with (
        factory() as s,
        pytest.raises(ValidationError, match=r"row 3, column D .*no longer active"),
    ):
        run(s, SAMPLE_XLSX.read_bytes(), "sample.xlsx")


def test_a_csv_in_gb18030_with_chinese_dates_imports(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    text = "值班表\n日期,值班员,备注\n12月1日(周二),张晓明,\n2026年12月2日,cchead,调班\n,,\n"
    with factory.begin() as s:
        result = run(s, text.encode("gb18030"), "roster.csv")
        assert result.overrides == {"duty_officer": 2}  # type: ignore[attr-defined]
    with factory() as s:
        assert who(s, "duty_officer", cst(1, 12)) == "duty"
        assert who(s, "duty_officer", cst(2, 12)) == "cchead"
        assert who(s, "duty_leader", cst(2, 12)) is None


def test_importing_again_replaces_the_earlier_import_and_skips_days_over(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory.begin() as s:
        run(s, SAMPLE_CSV.read_bytes(), "first.csv")
    later = cst(11, 12)  # 11 December, noon: the 10th's shift is over, the 11th's runs
    again = "日期,值班员\n2026-12-10,admin\n2026-12-11,admin\n2026-12-12,admin\n"
    with factory.begin() as s:
        result = import_month(
            s, data=again.encode(), filename="second.csv", month="2026-12", actor=ACTOR, now=later
        )
        assert result.skipped_past == 1 and result.overrides == {"duty_officer": 2}
        assert result.revoked == 31  # the first import's duty officer days
    with factory() as s:
        assert who(s, "duty_officer", cst(10, 12)) == "duty2"  # the past keeps its answer
        assert who(s, "duty_officer", cst(11, 11)) == "duty3"  # before the second import
        assert who(s, "duty_officer", cst(11, 13)) == "admin"
        assert who(s, "duty_officer", cst(12, 12)) == "admin"
        assert who(s, "duty_officer", cst(13, 12)) is None  # not in the second file
        assert who(s, "duty_leader", cst(13, 12)) == "cchead"  # other roles untouched


def test_a_day_runs_from_the_rotations_handoff(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory.begin() as s:
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[org["admin"].id],
            handoffs=["09:00", "21:00"],
            period="daily",
            anchor_date=date(2026, 11, 1),
            actor=ACTOR,
            now=NOW,
        )
        run(s, "日期,值班员\n2026-12-05,张晓明\n".encode(), "one.csv")
    with factory() as s:
        assert who(s, "duty_officer", cst(5, 8, 59)) == "admin"
        assert who(s, "duty_officer", cst(5, 9)) == "duty"
        assert who(s, "duty_officer", cst(6, 8, 59)) == "duty"  # day and night shifts
        assert who(s, "duty_officer", cst(6, 9)) == "admin"


@pytest.mark.parametrize(
    ("data", "month", "field"),
    [
        (b"PK\x03\x04broken", "2026-12", "file"),
        (b"\x00\x01", "2026-12", "file"),
        ("日期,值班员\n".encode(), "2026-12", "file"),
        ("日期,值班员\n2026-12-01,张晓明\n".encode(), "2026-13", "month"),
        ("日期,值班员\n2026-12-01,张晓明\n".encode(), "December", "month"),
        ("日期,值班员\n2026-12-01,张晓明\n".encode(), "0000-12", "month"),
    ],
)
def test_an_unreadable_file_or_month_is_refused(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    data: bytes,
    month: str,
    field: str,
) -> None:
    with factory() as s, pytest.raises(ValidationError) as caught:
        run(s, data, "x.xlsx" if data.startswith(b"PK") else "x.csv", month=month)
    assert caught.value.field == field
