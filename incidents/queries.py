"""Read side of the record: filtered, keyset-paginated lists and the timeline.

Keyset pagination (``id < cursor``) keeps a page as cheap at the 100,000th incident as
at the first; offsets would scan everything before the page.

Text search looks up an exact incident number first; otherwise it goes through each
engine's own text index (migration ``0014_incident_search``): SQLite's FTS5 ``trigram``
table, PostgreSQL's ``pg_trgm`` GIN indexes under ``ILIKE``. A query of one or two
characters — common in Chinese: 勒索, 篡改 — has no trigram for either index to serve, so
it is matched against the base table (on SQLite never through the FTS table, whose
``LIKE`` misses short non-ASCII patterns in 3.40).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, Select, func, literal_column, or_, select, text
from sqlalchemy.orm import Session, selectinload

from incidents.audit import AuditEvent
from incidents.errors import ValidationError
from incidents.grading import GRADES
from incidents.lifecycle import OPEN_STATUSES, STATUSES
from incidents.models import CATEGORIES, Incident
from incidents.permissions import Capabilities, visible_filter

MAX_LIMIT = 200
# Trigram indexes serve substrings of at least this many characters.
TRIGRAM = 3


@dataclass(frozen=True)
class IncidentFilter:
    status: tuple[str, ...] = ()
    grade: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    department_id: int | None = None
    text: str = ""
    open_only: bool = False

    def __post_init__(self) -> None:
        for name, allowed in (("status", STATUSES), ("grade", GRADES), ("category", CATEGORIES)):
            for value in getattr(self, name):
                if value not in allowed:
                    raise ValidationError(
                        "unknown value %(value)r; one of %(choices)s",
                        field=name,
                        code="unknown_value",
                        params={"value": value, "choices": ", ".join(allowed)},
                    )


@dataclass(frozen=True)
class Page:
    items: list[Incident]
    next_cursor: int | None
    total: int | None


def list_incidents(
    session: Session,
    caps: Capabilities,
    flt: IncidentFilter,
    *,
    limit: int = 50,
    cursor: int | None = None,
    with_total: bool = False,
) -> Page:
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationError(
            "must be between 1 and %(max)s",
            field="limit",
            code="limit.out_of_range",
            params={"max": MAX_LIMIT},
        )
    conditions = [visible_filter(caps)]
    if flt.status:
        conditions.append(Incident.status.in_(flt.status))
    elif flt.open_only:
        conditions.append(Incident.status.in_(OPEN_STATUSES))
    if flt.grade:
        conditions.append(Incident.grade.in_(flt.grade))
    if flt.category:
        conditions.append(Incident.category.in_(flt.category))
    if flt.since is not None:
        conditions.append(Incident.detected_at >= flt.since)
    if flt.until is not None:
        conditions.append(Incident.detected_at < flt.until)
    if flt.department_id is not None:
        conditions.append(Incident.responsible_department_id == flt.department_id)
    if flt.text.strip():
        conditions.append(text_condition(session, flt.text.strip()))
    stmt = select(Incident).where(*conditions)
    if cursor is not None:
        stmt = stmt.where(Incident.id < cursor)
    stmt = (
        stmt.order_by(Incident.id.desc())
        .limit(limit + 1)
        .options(selectinload(Incident.systems), selectinload(Incident.responsible_department))
    )
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    items = rows[:limit]
    total = None
    if with_total:
        total = session.scalar(select(func.count()).select_from(Incident).where(*conditions))
    return Page(items=items, next_cursor=items[-1].id if more and items else None, total=total)


def text_condition(session: Session, query: str) -> ColumnElement[bool]:
    """Incidents whose number is ``query``, else whose title or number contains it."""
    exact = session.scalar(select(Incident.id).where(Incident.number == query.upper()))
    if exact is not None:
        return Incident.id == exact
    pattern = "%" + _escape_like(query) + "%"
    on_base_table = or_(
        Incident.title.ilike(pattern, escape="\\"), Incident.number.ilike(pattern, escape="\\")
    )
    if len(query) < TRIGRAM or session.get_bind().dialect.name != "sqlite":
        return on_base_table  # PostgreSQL: the GIN trigram indexes serve ILIKE directly
    phrase = '"' + query.replace('"', '""') + '"'
    matching: Select[int] = (
        select(literal_column("rowid", Integer))
        .select_from(text("incident_search"))
        .where(text("incident_search MATCH :phrase").bindparams(phrase=phrase))
    )
    return Incident.id.in_(matching)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def timeline(session: Session, incident_id: int) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq)
    return list(session.scalars(stmt))
