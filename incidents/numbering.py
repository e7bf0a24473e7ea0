"""Incident numbers: ``FH-YYYY-NNNN``, distinct and gap-free per year (issue 2, item 4).

The number is taken from ``incident_counter`` in the transaction that inserts the
incident, so a rolled-back create gives its number back. The upsert locks the year's
counter row until the transaction ends: concurrent creators queue on it (a PostgreSQL
row lock; on SQLite every transaction holds the write lock anyway).

On PostgreSQL the counter's upsert, the incident's INSERT and its first grade_change's
are one statement (data-modifying CTEs, each selecting from the one before); SQLite has
no DML in a CTE, so there it is the upsert, then the two INSERTs. The statements are
built once per dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Executable, Integer, Text, bindparam, cast, func, insert
from sqlalchemy import select as select_
from sqlalchemy.orm import Session

from incidents.models import GradeChange, Incident, IncidentCounter
from incidents.rows import table_of

# The columns the numbering fills in; the caller's row gives every other one but ``id``.
NUMBERED = ("seq", "number")


def number_text(year: int, seq: int) -> str:
    return f"FH-{year}-{seq:04d}"


def insert_numbered(
    session: Session, year: int, row: Mapping[str, Any], graded: Mapping[str, Any]
) -> tuple[int, int, str]:
    """INSERT the incident ``row`` (every column but ``id``, ``seq`` and ``number``;
    ``year`` included) with the next number of ``year``, and its first ``grade_change``
    (``graded``: every column but ``id`` and ``incident_id``); returns (id, seq,
    number)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        params = {**row, **{GRADED + k: v for k, v in graded.items()}}
        got = session.execute(_numbered_insert(), params).one()
        return int(got.id), int(got.seq), str(got.number)
    seq = int(session.execute(_counter_upsert(dialect), {"year": year}).scalar_one())
    number = number_text(year, seq)
    new_id = session.execute(_plain_insert(), {**row, "seq": seq, "number": number}).scalar_one()
    session.execute(_grade_insert(), {**graded, "incident_id": new_id})
    return int(new_id), seq, number


# The first grade_change's parameters, named apart from the incident's.
GRADED = "graded_"


def _upsert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    stmt = upsert(IncidentCounter).values(year=bindparam("year", type_=Integer()), last=1)
    return stmt.on_conflict_do_update(
        index_elements=[IncidentCounter.year], set_={"last": IncidentCounter.last + 1}
    ).returning(IncidentCounter.last)


@cache
def _counter_upsert(dialect: str) -> Executable:
    """The year's first number inserts its counter row, every later one bumps it."""
    stmt: Executable = _upsert(dialect)
    return stmt


@cache
def _plain_insert() -> Executable:
    table = table_of(Incident)
    return insert(table).returning(table.c.id)


@cache
def _grade_insert() -> Executable:
    return insert(table_of(GradeChange))


@cache
def _numbered_insert() -> Executable:
    """PostgreSQL: ``WITH numbered AS (upsert … RETURNING last) INSERT INTO incident …
    SELECT …, numbered.last, 'FH-' || year || '-' || zero-padded last FROM numbered``."""
    table = table_of(Incident)
    numbered = _upsert("postgresql").cte("numbered")
    last = numbered.c.last
    digits = cast(last, Text)
    number = func.concat(
        "FH-",
        cast(bindparam("year", type_=Integer()), Text),
        "-",
        func.lpad(digits, func.greatest(4, func.length(digits)), "0"),
    )
    columns = [c for c in table.columns if c.key != "id"]
    values: list[ColumnElement[Any]] = []
    for column in columns:
        if column.key == "seq":
            values.append(last)
        elif column.key == "number":
            values.append(number)
        else:
            values.append(bindparam(column.key, type_=column.type))
    created = (
        insert(table)
        .from_select([c.key for c in columns], select_(*values).select_from(numbered))
        .add_cte(numbered)
        .returning(table.c.id, table.c.seq, table.c.number)
        .cte("created")
    )
    changes = table_of(GradeChange)
    change_columns = [c for c in changes.columns if c.key not in ("id", "incident_id")]
    graded = (
        insert(changes)
        .from_select(
            ["incident_id", *(c.key for c in change_columns)],
            select_(
                created.c.id,
                *(bindparam(GRADED + c.key, type_=c.type) for c in change_columns),
            ).select_from(created),
        )
        .cte("graded")
    )
    return select_(created.c.id, created.c.seq, created.c.number).add_cte(graded)
