"""Many rows in one INSERT, on both engines, without a statement as long as the rows.

SQLAlchemy writes ``INSERT … VALUES (…), (…)`` for a list of rows ("insertmanyvalues"):
on PostgreSQL, 1,000 notification rows of 18 columns make a 600 kB statement with
18,000 placeholders, which psycopg parses in Python every time (it caches only short
statements): 0.66 s of a 2.7 s sweep-and-deliver round of 2,000 timers. One array per
column (``unnest``) avoids the parse, but psycopg escapes each text element of an
array in Python (0.37 s for the same rows). Here the rows go as one JSON document,
written by the standard library's C encoder and read by the server::

    INSERT INTO t (a, b) SELECT a, b FROM json_to_recordset(CAST(%(rows)s AS JSON))
        AS r(a INTEGER, b TEXT)

— one statement of one short text whatever the number of rows. SQLite (parsing in C)
keeps SQLAlchemy's own multi-row INSERT.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, Text, bindparam, cast, column, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert ``rows`` (each with the same keys, column names of ``table``) in one
    statement; ``skip_conflicts_on``: the columns of a unique index, a row that would
    break it is skipped (``ON CONFLICT DO NOTHING``); ``returning``: the columns to give
    back, one row per row written."""
    if not rows:
        return []
    names = list(rows[0])
    if any(list(row) != names for row in rows):
        raise ValueError("insert_rows: every row needs the same columns in the same order")
    stmt: Insert
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Each row as an object: json_to_recordset matches keys to the column names.
        document = json.dumps([{name: _json(row[name]) for name in names} for row in rows])
        source = func.json_to_recordset(
            cast(bindparam("rows", document, type_=Text), postgresql.JSON)
        ).table_valued(*(column(name, table.c[name].type) for name in names))
        derived = source.render_derived(with_types=True)
        stmt = postgresql.insert(table).from_select(names, select(*derived.c))
        if skip_conflicts_on is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        parameters: Any = None
    else:  # SQLite, the other engine
        lite = sqlite.insert(table)
        if skip_conflicts_on is not None:
            lite = lite.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        stmt = lite
        parameters = list(rows)
    if returning:
        stmt = stmt.returning(*(table.c[name] for name in returning))
        return list(connection.execute(stmt, parameters).all())
    connection.execute(stmt, parameters)
    return []


def _json(value: Any) -> Any:
    """A column's value as JSON: a datetime as ISO 8601 in UTC (a naive one refused, as
    ``UTCDateTime`` refuses it), the rest as it is."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).isoformat()
    return value
