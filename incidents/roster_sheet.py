"""Reading an office's monthly duty roster file: its rows, the header's columns, the
dates and the people, checked cell by cell; nothing here writes.

The layout it accepts is described in ``incidents.roster_import`` (which writes what this
module reads) and in ``docs/roster.md``. Every problem is a ``ValidationError`` whose
message names the row and the column as the spreadsheet shows them ("row 7, column D
(带班领导): no person named 张三"), with ``row``, ``column`` and ``header`` in its params
and its own code (``roster_import.unknown_person``, ``roster_import.bad_date``…).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.errors import ValidationError
from incidents.org import Person
from incidents.rosters import ROLES

HEADER_SCAN = 10  # title rows allowed above the header
MAX_ROWS = 200  # a month is 31 rows; more is not a monthly roster
MAX_BYTES = 2 * 1024 * 1024
YEARS = (2000, 2100)  # the months a roster is planned for

# The header names each role goes by (compared after ``_normal``).
DATE_HEADERS = ("日期", "date", "值班日期", "day")
ROLE_HEADERS: dict[str, tuple[str, ...]] = {
    "duty_officer": ("值班员", "值班人员", "duty_officer", "duty officer"),
    "duty_leader": ("带班领导", "值班领导", "duty_leader", "duty leader", "leader on duty"),
    "technical_oncall": (
        "技术值班",
        "技术值班员",
        "technical_oncall",
        "technical on-call",
        "technical oncall",
        "technical on call",
    ),
}

_FULL_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_WEEKDAY_SUFFIX = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


@dataclass(frozen=True)
class Where:
    """A cell of the file: its row number and column letter as a spreadsheet shows them."""

    row: int
    column: str
    header: str

    def params(self, **more: object) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "header": self.header, **more}


@dataclass(frozen=True)
class Assignment:
    day: date
    role: str
    person_id: int
    row: int


def parse_month(text: str) -> date:
    """``2026-12`` → the first day of that month; a 422 naming ``month`` otherwise."""
    found = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise ValidationError(
            "must be a month as YYYY-MM, got %(value)r",
            field="month",
            code="roster_import.month",
            params={"value": text},
        )
    year = int(found.group(1))
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValidationError(
            "must be a month from %(low)s to %(high)s, got %(value)r",
            field="month",
            code="roster_import.month_range",
            params={"low": f"{YEARS[0]}-01", "high": f"{YEARS[1]}-12", "value": text},
        )
    return date(year, int(found.group(2)), 1)


def read_rows(data: bytes, filename: str = "") -> list[list[object]]:
    """The cells of the file, row by row: an xlsx workbook's first sheet, or CSV."""
    if len(data) > MAX_BYTES:
        raise ValidationError(
            "the file is larger than %(limit)s bytes",
            field="file",
            code="roster_import.too_large",
            params={"limit": MAX_BYTES},
        )
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith((".xlsx", ".xlsm")):
        return _xlsx_rows(data)
    return _csv_rows(data)


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zip, XML and key errors for a broken file
        raise ValidationError(
            "not a readable xlsx workbook", field="file", code="roster_import.not_xlsx"
        ) from None
    try:
        sheet = book.worksheets[0]
        rows: list[list[object]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if len(rows) > MAX_ROWS + HEADER_SCAN:
                break
        return rows
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[object]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise ValidationError(
            "the CSV file is neither UTF-8 nor GB18030", field="file", code="roster_import.encoding"
        )
    if "\x00" in text:
        raise ValidationError(
            "not a CSV file (it holds NUL characters)", field="file", code="roster_import.not_csv"
        )
    try:
        return [list(row) for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise ValidationError(
            "not a readable CSV file: %(reason)s",
            field="file",
            code="roster_import.not_csv",
            params={"reason": str(exc)},
        ) from None


def _normal(value: object) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.replace("_", " ").replace("-", " ").split()).lower()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@dataclass(frozen=True)
class Layout:
    header_row: int  # 1-based
    date_column: int  # 0-based
    roles: dict[str, int]  # role -> 0-based column
    headers: dict[int, str]  # 0-based column -> the header as written


def find_layout(rows: Sequence[Sequence[object]]) -> Layout:
    """The header row and the columns it names; a 422 naming the row when it is missing."""
    dates = {_normal(h) for h in DATE_HEADERS}
    aliases = {_normal(a): role for role, names in ROLE_HEADERS.items() for a in names}
    for index, row in enumerate(rows[:HEADER_SCAN]):
        normal = [_normal(cell) for cell in row]
        if not any(cell in dates for cell in normal):
            continue
        number = index + 1
        headers = {i: _text(cell) for i, cell in enumerate(row)}
        date_column = next(i for i, cell in enumerate(normal) if cell in dates)
        roles: dict[str, int] = {}
        for i, cell in enumerate(normal):
            role = aliases.get(cell)
            if role is None:
                continue
            if role in roles:
                where = Where(number, get_column_letter(i + 1), headers[i])
                raise ValidationError(
                    "row %(row)s, column %(column)s (%(header)s): "
                    "%(role)s has a column already: %(other)s",
                    field="file",
                    code="roster_import.duplicate_column",
                    params=where.params(role=role, other=get_column_letter(roles[role] + 1)),
                )
            roles[role] = i
        if not roles:
            raise ValidationError(
                "row %(row)s: the header names no roster column (值班员 duty_officer, "
                "带班领导 duty_leader, 技术值班 technical_oncall)",
                field="file",
                code="roster_import.no_role_column",
                params={"row": number},
            )
        return Layout(number, date_column, roles, headers)
    raise ValidationError(
        "row %(row)s: no header row; one of the first %(scan)s rows must name the columns, "
        "with a 日期 (date) column",
        field="file",
        code="roster_import.no_header",
        params={"row": 1, "scan": HEADER_SCAN},
    )


def parse_day(value: object, month: date, where: Where) -> date:
    """A date cell as a date of ``month``'s year; a 422 naming the cell otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _WEEKDAY_SUFFIX.sub("", _text(value))
    full = _FULL_DATE.match(text)
    short = _MONTH_DAY.match(text)
    try:
        if full is not None:
            return date(int(full.group(1)), int(full.group(2)), int(full.group(3)))
        if short is not None:
            return date(month.year, int(short.group(1)), int(short.group(2)))
    except ValueError:
        pass
    raise ValidationError(
        "row %(row)s, column %(column)s (%(header)s): %(value)r is not a date",
        field="file",
        code="roster_import.bad_date",
        params=where.params(value=_text(value)),
    )


class People:
    """The organisation's people by login and by name, read once per import."""

    def __init__(self, session: Session) -> None:
        self.by_login: dict[str, Person] = {}
        self.by_name: dict[str, list[Person]] = {}
        for person in session.scalars(select(Person)):
            self.by_login[person.login] = person
            self.by_name.setdefault(person.name.strip(), []).append(person)

    def find(self, text: str, where: Where) -> Person:
        person = self.by_login.get(text)
        if person is None:
            named = self.by_name.get(text, [])
            if not named:
                raise ValidationError(
                    "row %(row)s, column %(column)s (%(header)s): no person named %(value)s",
                    field="file",
                    code="roster_import.unknown_person",
                    params=where.params(value=text),
                )
            if len(named) > 1:
                raise ValidationError(
                    "row %(row)s, column %(column)s (%(header)s): "
                    "%(count)s people are named %(value)s; give the login",
                    field="file",
                    code="roster_import.ambiguous_person",
                    params=where.params(value=text, count=len(named)),
                )
            person = named[0]
        if not person.active:
            raise ValidationError(
                "row %(row)s, column %(column)s (%(header)s): %(value)s is no longer active",
                field="file",
                code="roster_import.inactive_person",
                params=where.params(value=text),
            )
        return person


@dataclass(frozen=True)
class Plan:
    roles: list[str]  # the roles the file has a column for
    days: list[date]  # the days the file has a row for
    assignments: list[Assignment]


def plan(session: Session, rows: Sequence[Sequence[object]], month: date) -> Plan:
    """Who covers which day, read from ``rows`` and checked; writes nothing."""
    layout = find_layout(rows)
    people = People(session)
    data_rows = rows[layout.header_row :]
    if len(data_rows) > MAX_ROWS:
        raise ValidationError(
            "row %(row)s: more than %(limit)s rows under the header; one row per day",
            field="file",
            code="roster_import.too_many_rows",
            params={"row": layout.header_row + MAX_ROWS + 1, "limit": MAX_ROWS},
        )
    seen: dict[date, int] = {}
    out: list[Assignment] = []
    columns = [layout.date_column, *layout.roles.values()]
    for offset, row in enumerate(data_rows):
        number = layout.header_row + offset + 1

        def cell(column: int, row: Sequence[object] = row) -> object:
            return row[column] if column < len(row) else None

        if all(_text(cell(c)) == "" for c in columns):
            continue  # a blank line, or one holding only notes
        where = _where(layout, number, layout.date_column)
        raw = cell(layout.date_column)
        if _text(raw) == "":
            raise ValidationError(
                "row %(row)s, column %(column)s (%(header)s): the date is missing",
                field="file",
                code="roster_import.missing_date",
                params=where.params(),
            )
        day = parse_day(raw, month, where)
        if (day.year, day.month) != (month.year, month.month):
            raise ValidationError(
                "row %(row)s, column %(column)s (%(header)s): %(day)s is not in %(month)s",
                field="file",
                code="roster_import.outside_month",
                params=where.params(day=day.isoformat(), month=month.strftime("%Y-%m")),
            )
        if day in seen:
            raise ValidationError(
                "row %(row)s, column %(column)s (%(header)s): "
                "%(day)s is given twice (first on row %(other)s)",
                field="file",
                code="roster_import.duplicate_day",
                params=where.params(day=day.isoformat(), other=seen[day]),
            )
        seen[day] = number
        for role, column in layout.roles.items():
            text = _text(cell(column))
            if not text:
                continue
            person = people.find(text, _where(layout, number, column))
            out.append(Assignment(day, role, person.id, number))
    if not seen:
        raise ValidationError(
            "row %(row)s: no day rows under the header",
            field="file",
            code="roster_import.no_rows",
            params={"row": layout.header_row + 1},
        )
    return Plan(sorted(layout.roles, key=ROLES.index), list(seen), out)


def _where(layout: Layout, row: int, column: int) -> Where:
    return Where(row, get_column_letter(column + 1), layout.headers.get(column, ""))
