"""Rows a use case inserts with a Core statement, held by the session as loaded objects.

A unit-of-work flush of one new object costs several times the INSERT it emits; on the
hot path of logging an incident the rows are inserted directly and the objects the rest
of the transaction reads (the clock, the chain) are put in the session as if they had
been loaded, so that ``session.get`` and relationships find them without a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.orm import Session, make_transient_to_detached

from incidents.db import Base

T = TypeVar("T", bound=Base)


def table_of(model: type[Base]) -> Table:
    """The model's table, typed as one (``__table__`` is declared a FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def adopt(session: Session, model: type[T], row: Mapping[str, Any]) -> T:
    """The object of ``model`` for ``row``, just inserted (every column given, the
    primary key included), attached to ``session`` as persistent and clean."""
    missing = [c.key for c in table_of(model).columns if c.key not in row]
    if missing:  # an attribute left out would be loaded from the database on first use
        raise ValueError(f"{model.__name__} row without {', '.join(missing)}")
    instance = model(**row)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance
