"""The trends as an xlsx workbook (openpyxl), for the monthly report to the leading group.

A cover sheet (bureau, period, time zone, when it was generated, and each sheet with the
clauses it bears on), then one sheet per figure holding the rows of the page's tables
(``app.web.trend_tables.build_tables``): the same numbers, not a second computation. Headers are
in Chinese on the first row and in English on the second, whatever the viewer reads, since
the workbook is passed on. Shares are stored as fractions formatted as percentages and
durations as Excel durations (``[h]:mm:ss``), so that the leading group office can sum
and chart them.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from app.extensions import db, services
from app.web.translate import _
from app.web.trend_tables import COUNT, MONTH, SECONDS, SHARE, Table, Value, build_tables
from escalation.trends import Period
from incidents.org import Department

HEAD_FILL = PatternFill("solid", fgColor="E5E7EB")
BOLD = Font(bold=True)
DURATION, DURATION_FORMAT = "h:mm:ss", "[h]:mm:ss"  # hours past 24 keep counting
SHEET_NAME_MAX = 31  # Excel's limit
FORBIDDEN_IN_NAMES = str.maketrans({c: " " for c in "[]:*?/\\"})


def stored(value: Value, kind: str) -> Value | timedelta:
    """A cell as the workbook stores it: counts as integers, shares as fractions, durations
    as Excel durations (exact to the second the figures carry); no value stays empty."""
    if value is None or kind in (MONTH, COUNT):
        return value
    if kind == SECONDS:
        return timedelta(seconds=float(value))
    return float(value)


def _header(table: Table) -> list[str]:
    return [f"{c.header} ({DURATION})" if c.kind == SECONDS else c.header for c in table.columns]


def _bilingual_tables(
    figures: dict[str, Any],
) -> tuple[list[Table], list[Table], list[list[str]], list[list[str]]]:
    out: list[Any] = []
    for lang in ("zh_CN", "en"):
        with force_locale(lang):
            tables = build_tables(figures)
            out.append((tables, [_header(t) for t in tables]))
    (zh, zh_heads), (en, en_heads) = out
    return zh, en, zh_heads, en_heads


def _department(kind: str) -> str:
    name = db().scalar(
        select(Department.name)
        .where(Department.kind == kind)
        .order_by(Department.parent_id.is_not(None), Department.id)
        .limit(1)
    )
    return name or "—"


def _widths(sheet: Worksheet) -> None:
    for index, column in enumerate(sheet.iter_cols(), start=1):
        longest = max((len(str(c.value)) for c in column if c.value is not None), default=4)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(longest + 4, 10), 60)


def _cover(
    sheet: Worksheet, period: Period, at: datetime, zh: list[Table], en: list[Table]
) -> None:
    tz = services().policy.tz
    with force_locale("zh_CN"):
        zh_title = _("Network security incident trends")
    with force_locale("en"):
        en_title = _("Network security incident trends")
    sheet.append([zh_title, en_title])
    sheet["A1"].font = sheet["B1"].font = Font(bold=True, size=14)
    values = [
        _department("leadership"),
        _department("command_center"),
        _department("leading_group"),
        f"{period.label(period.first)} – {period.label(period.last)}",
        str(tz),
        at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
    ]
    labels = []
    for lang in ("zh_CN", "en"):
        with force_locale(lang):
            labels.append(
                [
                    _("Bureau"),
                    _("Prepared by"),
                    _("Addressed to"),
                    _("Period"),
                    _("Time zone"),
                    _("Generated at"),
                ]
            )
    sheet.append([])
    for zh_label, en_label, value in zip(labels[0], labels[1], values, strict=True):
        sheet.append([zh_label, en_label, value])
        sheet.cell(sheet.max_row, 1).font = BOLD
    sheet.append([])
    heads = []
    for lang in ("zh_CN", "en"):
        with force_locale(lang):
            heads.append([_("Sheet"), _("Contents"), _("Clauses"), _("How it is counted")])
    sheet.append(heads[0])
    sheet.append(heads[1])
    for row in (sheet.max_row - 1, sheet.max_row):
        for cell in sheet[row]:
            cell.font, cell.fill = BOLD, HEAD_FILL
    for z, e in zip(zh, en, strict=True):
        sheet.append([_sheet_name(z), f"{z.title} / {e.title}", z.clauses or "—", z.caption])
        sheet.append(["", "", e.clauses or "", e.caption])
    _widths(sheet)
    sheet.column_dimensions["D"].width = 60
    for row in sheet.iter_rows(min_row=1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _sheet_name(table: Table) -> str:
    return table.title.translate(FORBIDDEN_IN_NAMES)[:SHEET_NAME_MAX]


def _figure_sheet(sheet: Worksheet, zh: Table, zh_head: list[str], en_head: list[str]) -> None:
    sheet.append(zh_head)
    sheet.append(en_head)
    for row in (1, 2):
        for cell in sheet[row]:
            cell.font, cell.fill = BOLD, HEAD_FILL
    for values in (*zh.rows, zh.total):
        sheet.append([stored(v, c.kind) for v, c in zip(values, zh.columns, strict=True)])
        for cell, column in zip(sheet[sheet.max_row], zh.columns, strict=True):
            if column.kind == SHARE:
                cell.number_format = "0.0%"
            elif column.kind == SECONDS:
                cell.number_format = DURATION_FORMAT
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    sheet.freeze_panes = "B3"
    _widths(sheet)


def workbook_bytes(figures: dict[str, Any], *, period: Period, at: datetime) -> bytes:
    """The workbook of ``figures`` (``accountability.trends.figures``) as xlsx bytes."""
    zh, en, zh_heads, en_heads = _bilingual_tables(figures)
    book = Workbook()
    cover = book.active
    assert cover is not None
    with force_locale("zh_CN"):
        cover.title = _("Cover")
    _cover(cover, period, at, zh, en)
    for table, english, zh_head, en_head in zip(zh, en, zh_heads, en_heads, strict=True):
        sheet = book.create_sheet(_sheet_name(table))
        _figure_sheet(sheet, table, zh_head, en_head)
        sheet.cell(sheet.max_row, 1).value = f"{table.total[0]} / {english.total[0]}"
    book.properties.creator = "Fenghuo"
    book.properties.created = at.replace(tzinfo=None)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
