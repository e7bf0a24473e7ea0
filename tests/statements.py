"""The SQL a block of code sends: a ``before_cursor_execute`` listener on an engine or a
connection, removed when the block ends (the statement budgets and query-plan tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event


@contextmanager
def _listening(target: Engine | Connection, append: Callable[[str, Any], None]) -> Iterator[None]:
    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        append(statement, params)

    event.listen(target, "before_cursor_execute", listen)
    try:
        yield
    finally:
        event.remove(target, "before_cursor_execute", listen)


@contextmanager
def statements(target: Engine | Connection) -> Iterator[list[str]]:
    """Each statement sent through ``target`` during the block, its whitespace folded."""
    seen: list[str] = []
    with _listening(target, lambda sql, _params: seen.append(" ".join(sql.split()))):
        yield seen


@contextmanager
def executed(target: Engine | Connection) -> Iterator[list[tuple[str, Any]]]:
    """Each statement sent through ``target`` during the block as sent, with its
    parameters (to ``EXPLAIN`` it again)."""
    seen: list[tuple[str, Any]] = []
    with _listening(target, lambda sql, params: seen.append((sql, params))):
        yield seen
