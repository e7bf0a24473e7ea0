"""Many rows in one INSERT, on both engines, without a statement as long as the rows.

SQLAlchemy writes ``INSERT … VALUES (…), (…)`` for a list of rows ("insertmanyvalues"):
on PostgreSQL, 1,000 notification rows of 18 columns make a 600 kB statement with
18,000 placeholders, which psycopg parses in Python every time (it caches only short
statements): 0.66 s of a 2.7 s sweep-and-deliver round of 2,000 timers. Here each
column goes as one array and the rows are ``unnest``-ed server-side::

    INSERT INTO t (a, b) SELECT * FROM unnest(CAST(%(a)s AS INTEGER[]), CAST(%(b)s AS TEXT[]))

— one statement of one short text whatever the number of rows, parsed once. SQLite
(parsing in C, and no arrays) keeps SQLAlchemy's own multi-row INSERT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, cast, func, insert, select
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
        arrays = [
            cast(
                bindparam(f"rows_{name}", [row[name] for row in rows], type_=_array(table, name)),
                _array(table, name),
            )
            for name in names
        ]
        source = func.unnest(*arrays).table_valued(*names).render_derived()
        stmt = postgresql.insert(table).from_select(names, select(*source.c))
        if skip_conflicts_on is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        parameters: Any = None
    else:
        lite = sqlite.insert(table) if dialect == "sqlite" else None
        if lite is not None and skip_conflicts_on is not None:
            lite = lite.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        elif skip_conflicts_on is not None:
            raise ValueError(f"insert_rows: no conflict clause for {dialect}")
        stmt = lite if lite is not None else insert(table)
        parameters = list(rows)
    if returning:
        stmt = stmt.returning(*(table.c[name] for name in returning))
        return list(connection.execute(stmt, parameters).all())
    connection.execute(stmt, parameters)
    return []


def _array(table: Table, name: str) -> postgresql.ARRAY[Any]:
    return postgresql.ARRAY(table.c[name].type)
