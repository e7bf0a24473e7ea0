"""Read side of the record: filtered, keyset-paginated lists and the timeline.

Keyset pagination (``id < cursor``) keeps a page as cheap at the 1,000,000th incident as
at the first; offsets would scan everything before the page. A page is read in two
steps: the ids, newest first, through whatever index the filters allow (only the id is
sorted, never whole rows), then the page's rows by their ids.

Text search looks up an exact incident number first. Otherwise it reads the newest
``RECENT`` incidents on the table itself — a common word (勒索 in one title in twenty)
fills a page there and stops — and only for what that left goes through each engine's
own text index: for three characters and more the trigram index of migration
``0014_incident_search`` (SQLite's FTS5 ``trigram`` table, PostgreSQL's ``pg_trgm``
GIN indexes under ``ILIKE``), for one or two — common in Chinese: 勒索, 篡改 — the
one- and two-character pieces of ``0016_incident_short_search``, which trigrams cannot
serve (and SQLite 3.40's FTS5 ``LIKE`` misses short non-ASCII patterns). The indexes
give candidates; the ``LIKE`` on the row decides, on every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    column,
    func,
    literal,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from incidents.audit import AuditEvent
from incidents.errors import ValidationError
from incidents.grading import GRADES
from incidents.lifecycle import OPEN_STATUSES, STATUSES
from incidents.models import CATEGORIES, Incident
from incidents.permissions import Capabilities, visible_filter

MAX_LIMIT = 200
# Trigram indexes serve substrings of at least this many characters.
TRIGRAM = 3
# A search reads this many of the newest incidents on the table before any text index.
RECENT = 2000
# A text index's candidates are read a window of ids at a time: the first this wide,
# each next eight times the last, and one this wide is the rest of the record.
WINDOW = 16_000
WHOLE = 1_000_000
# What a list loads with each incident unless told otherwise.
DEFAULT_LOAD: tuple[ExecutableOption, ...] = (
    selectinload(Incident.systems),
    selectinload(Incident.responsible_department),
)
_TRIGRAMS = table("incident_search", column("rowid", Integer))
_PIECES = table("incident_gram", column("rowid", Integer))


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
    load: Sequence[ExecutableOption] = DEFAULT_LOAD,
) -> Page:
    """The page of incidents matching ``flt`` that ``caps`` may see, newest first, below
    ``cursor``; ``load`` names what is loaded with each (``selectinload`` options)."""
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationError(
            "must be between 1 and %(max)s",
            field="limit",
            code="limit.out_of_range",
            params={"max": MAX_LIMIT},
        )
    conditions = _conditions(caps, flt)
    query = flt.text.strip()
    if not query:
        ranged = flt.since is not None or flt.until is not None
        ids = _newest(session, conditions, limit + 1, cursor, by_detection=ranged)
    else:
        exact = _by_number(session, query)
        if exact is not None:
            ids = _newest(session, [*conditions, Incident.id == exact], limit + 1, cursor)
        else:
            ids = _search(session, conditions, query, limit + 1, cursor)
    more = len(ids) > limit
    ids = ids[:limit]
    items: list[Incident] = []
    if ids:
        stmt = select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id.desc())
        items = list(session.scalars(stmt.options(*load)))
    total = None
    if with_total:
        if query:
            conditions.append(text_condition(session, query))
        total = session.scalar(select(func.count()).select_from(Incident).where(*conditions))
    return Page(items=items, next_cursor=items[-1].id if more and items else None, total=total)


def _conditions(caps: Capabilities, flt: IncidentFilter) -> list[ColumnElement[bool]]:
    conditions = [visible_filter(caps)]
    if flt.status:
        conditions.append(Incident.status.in_(flt.status))
    elif flt.open_only:
        # Written into the SQL as incidents.models.OPEN_INCIDENT is, so that SQLite
        # matches the partial index ix_incident_open to it.
        conditions.append(
            Incident.status.in_([literal(s, literal_execute=True) for s in OPEN_STATUSES])
        )
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
    return conditions


def _newest(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    count: int,
    below: int | None,
    *,
    by_detection: bool = False,
) -> list[int]:
    """Up to ``count`` ids below ``below``, newest first. ``by_detection``: a range of
    detection times bounds the rows, so they are found through ``ix_incident_detected``
    and only their ids sorted; ordering by the bare id would let PostgreSQL walk the
    primary key back from the newest incident, through every one detected after the
    range (921,041 rows for a month two years back at 1,000,000)."""
    stmt = select(Incident.id).where(*conditions)
    if below is not None:
        stmt = stmt.where(Incident.id < below)
    order = (Incident.id + 0).desc() if by_detection else Incident.id.desc()
    return list(session.scalars(stmt.order_by(order).limit(count)))


def _by_number(session: Session, query: str) -> int | None:
    found: int | None = session.scalar(select(Incident.id).where(Incident.number == query.upper()))
    return found


def _on_row(query: str, *, indexed: bool = True) -> ColumnElement[bool]:
    """The search's meaning: the title or the number contains ``query`` (ASCII case
    folded, ``%`` and ``_`` literal). ``indexed=False`` writes it so that no index
    matches it: PostgreSQL otherwise ANDs the trigram indexes into a short query's plan,
    and for one or two characters they return every row (1,000,000, 2 s)."""
    pattern = "%" + _escape_like(query) + "%"
    title, number = Incident.title, Incident.number
    if not indexed:
        title, number = title.concat(""), number.concat("")  # type: ignore[assignment]
    return or_(title.ilike(pattern, escape="\\"), number.ilike(pattern, escape="\\"))


def _search(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    query: str,
    count: int,
    below: int | None,
) -> list[int]:
    """Up to ``count`` ids of incidents below ``below`` whose title or number contains
    ``query``: the newest ``RECENT`` read on the table, the rest through an index."""
    top = below
    if top is None:
        top = (session.scalar(select(func.max(Incident.id))) or 0) + 1
    floor = top - RECENT
    matching = _on_row(query)
    found = _newest(session, [*conditions, matching, Incident.id >= floor], count, top)
    if len(found) >= count or floor <= 1:
        return found
    return found + _indexed(session, conditions, query, count - len(found), floor)


def _indexed(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    query: str,
    count: int,
    below: int,
) -> list[int]:
    """Up to ``count`` ids below ``below``, newest first, whose title or number contains
    ``query``, through the engine's text index for a query of its length."""
    matching = _on_row(query)
    if session.get_bind().dialect.name != "sqlite":
        if len(query) >= TRIGRAM:
            # The GIN trigram indexes (0014) serve the ILIKE itself.
            return _windowed(session, [*conditions, matching], count, below)
        pieces = func.incident_grams(Incident.title, Incident.number, type_=ARRAY(Text))
        has_piece = pieces.contains(array([func.lower(literal(query, Text))]))
        unindexed = _on_row(query, indexed=False)
        return _windowed(session, [*conditions, has_piece, unindexed], count, below)
    if len(query) >= TRIGRAM:
        index, phrase = _TRIGRAMS, '"' + query.replace('"', '""') + '"'
    elif query.isalnum():
        # One token for two characters; a prefix query for one (every piece starting
        # with it, and a title's last character, which the pieces keep alone).
        index, phrase = _PIECES, '"' + query + '"' + ("" if len(query) == 2 else "*")
    else:  # "%_", "-": the pieces' tokenizer drops such characters; read the rows
        return _newest(session, [*conditions, matching], count, below)
    stmt = (
        select(Incident.id)
        .join_from(index, Incident, Incident.id == index.c.rowid)
        .where(
            text(f"{index.name} MATCH :phrase").bindparams(phrase=phrase),
            index.c.rowid < below,
            *conditions,
            matching,
        )
        .order_by(index.c.rowid.desc())
        .limit(count)
    )
    return list(session.scalars(stmt))


def _windowed(
    session: Session, conditions: Sequence[ColumnElement[bool]], count: int, below: int
) -> list[int]:
    """``_newest`` through an unordered (GIN) index, a window of ids at a time, each
    eight times the last: the index's candidates in the window are read (PostgreSQL
    ANDs the id range into the bitmap), so a common word seen by a department head
    stops in the first windows instead of fetching every incident with the word."""
    found: list[int] = []
    span = WINDOW
    top = below
    while top > 1 and len(found) < count:
        # Every window ends lower than the last (span >= 1), so the loop ends.
        floor = max(1, top - span) if span < WHOLE else 1
        window = [*conditions, Incident.id >= floor]
        found += _newest(session, window, count - len(found), top)
        top, span = floor, span * 8
    return found


def text_condition(session: Session, query: str) -> ColumnElement[bool]:
    """Incidents whose number is ``query``, else whose title or number contains it (for
    counting; a page reads through :func:`list_incidents`)."""
    exact = _by_number(session, query)
    if exact is not None:
        return Incident.id == exact
    return _on_row(query)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def timeline(session: Session, incident_id: int) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq)
    return list(session.scalars(stmt))
