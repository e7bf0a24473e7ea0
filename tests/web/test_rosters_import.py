"""Importing the office's monthly roster on the web: the sample, a broken file, check only."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from incidents.audit import AuditEvent, system_actor
from incidents.org import Person
from incidents.org_io import import_org
from incidents.rosters import RosterOverride
from tests.incidents.test_roster_import import DUTY_TEAM, SAMPLE_CSV, SAMPLE_XLSX
from tests.web.conftest import Browser, as_, services_of

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def _with_duty_team(app: Flask) -> None:
    with services_of(app).sessions.begin() as s:
        import_org(s, DUTY_TEAM.read_text(encoding="utf-8"), actor=system_actor("cli"), now=NOW)


def _counts(app: Flask) -> tuple[int, int]:
    """Overrides and roster audit events (logging in is audited too, and allowed)."""
    with services_of(app).sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(RosterOverride)) or 0,
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.kind.like("roster.%"))
            )
            or 0,
        )


def _upload(who: Browser, data: bytes, name: str, **fields: str) -> object:
    return who.post(
        "/rosters/import",
        {"file": (io.BytesIO(data), name), "month": "2026-12", **fields},
        content_type="multipart/form-data",
    )


def test_the_keeper_sees_the_import_form_and_others_do_not(
    app: Flask, org: dict[str, Person], duty: Browser
) -> None:
    assert 'action="/rosters/import"' in as_(app, "cchead").text("/rosters")
    assert 'action="/rosters/import"' not in duty.text("/rosters")
    reply = _upload(duty, SAMPLE_CSV.read_bytes(), SAMPLE_CSV.name)
    assert reply.status_code == 403  # type: ignore[attr-defined]


def test_the_sample_xlsx_imports_from_the_page(app: Flask, org: dict[str, Person]) -> None:
    _with_duty_team(app)
    keeper = as_(app, "cchead")
    reply = _upload(keeper, SAMPLE_XLSX.read_bytes(), SAMPLE_XLSX.name)
    assert reply.status_code == 302  # type: ignore[attr-defined]
    assert "month=2026-12" in reply.headers["Location"]  # type: ignore[attr-defined]
    page = keeper.text("/rosters?month=2026-12")
    assert "已导入 2026-12：31 天，写入 93 个班次" in page
    assert _counts(app)[0] == 93
    assert "王磊" in page  # duty2, on duty from 2 December


def test_a_broken_file_names_row_and_column_and_writes_nothing(
    app: Flask, org: dict[str, Person]
) -> None:
    _with_duty_team(app)
    book = load_workbook(SAMPLE_XLSX)
    book.worksheets[0]["D7"] = "张三"
    out = io.BytesIO()
    book.save(out)
    before = _counts(app)
    reply = _upload(as_(app, "cchead"), out.getvalue(), "broken.xlsx")
    assert reply.status_code == 422  # type: ignore[attr-defined]
    page = reply.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "值班表未导入，未写入任何内容" in page
    assert "第 7 行" in page and "D 列" in page and "张三" in page
    assert _counts(app) == before


def test_check_only_reads_the_file_and_writes_nothing(app: Flask, org: dict[str, Person]) -> None:
    _with_duty_team(app)
    keeper = as_(app, "cchead")
    before = _counts(app)
    reply = _upload(keeper, SAMPLE_CSV.read_bytes(), SAMPLE_CSV.name, check="1")
    assert reply.status_code == 302  # type: ignore[attr-defined]
    assert "文件无误：2026-12 共 31 天" in keeper.text("/rosters?month=2026-12")
    assert _counts(app) == before


def test_a_missing_file_or_month_is_named(app: Flask, org: dict[str, Person]) -> None:
    keeper = as_(app, "cchead")
    reply = keeper.post("/rosters/import", {"month": "2026-12"}, content_type="multipart/form-data")
    assert reply.status_code == 422
    assert "请选择值班表文件" in reply.get_data(as_text=True)
    reply = _upload(keeper, SAMPLE_CSV.read_bytes(), SAMPLE_CSV.name, month="")
    assert reply.status_code == 422  # type: ignore[attr-defined]
    assert "请输入月份" in reply.get_data(as_text=True)  # type: ignore[attr-defined]
