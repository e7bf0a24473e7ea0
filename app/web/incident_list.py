"""The incident list's rows, made ready for the template in one pass.

A page of fifty rows called the grade and status macros, the name filters and
``gettext`` for every cell (each asking Flask-Babel for the locale: 450 translations and
700 locale lookups a page, most of the list's render time). Here the language, the
names and the time zone are looked up once per page and each row becomes plain strings,
so the template only writes them out; it reads nothing from the database (the
department comes loaded with the page, the deadlines in one query for all rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from flask import url_for

from app.extensions import services
from app.web.deadlines import Deadline
from app.web.templating import iso, lang
from incidents.grading import GRADE_COLOUR, GRADE_NAMES
from incidents.lifecycle import STATUS_NAMES
from incidents.models import CATEGORIES, Incident


@dataclass(frozen=True)
class ListRow:
    href: str
    number: str
    title: str
    grade: str
    grade_colour: str
    grade_name: str
    status: str
    status_name: str
    category_name: str
    department: str
    detected_iso: str
    detected_local: str
    deadline: Deadline | None


def _names(table: dict[str, tuple[str, str]], english: bool) -> dict[str, str]:
    return {code: pair[1] if english else pair[0] for code, pair in table.items()}


def list_rows(incidents: list[Incident], deadlines: dict[int, Deadline]) -> list[ListRow]:
    english = lang() == "en"
    grades = _names(GRADE_NAMES, english)
    statuses = _names(STATUS_NAMES, english)
    categories = _names(CATEGORIES, english)
    tz = services().policy.tz
    # One URL built, the others by its pattern: url_for costs as much as the rest of a row.
    stem = url_for("web.incident", incident_id=0).removesuffix("0")
    rows = []
    for i in incidents:
        department = i.responsible_department
        label = "—"
        if department is not None:
            label = (department.name_en or department.name) if english else department.name
        detected = i.detected_at if i.detected_at.tzinfo else i.detected_at.replace(tzinfo=UTC)
        rows.append(
            ListRow(
                href=f"{stem}{i.id}",
                number=i.number,
                title=i.title,
                grade=i.grade,
                grade_colour=GRADE_COLOUR.get(i.grade, ""),
                grade_name=grades.get(i.grade, i.grade),
                status=i.status,
                status_name=statuses.get(i.status, i.status),
                category_name=categories.get(i.category, i.category),
                department=label,
                detected_iso=iso(detected),
                detected_local=_local(detected, tz),
                deadline=deadlines.get(i.id),
            )
        )
    return rows


def _local(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
