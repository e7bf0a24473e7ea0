"""One unit of work per write request: commit on success, roll back on any error.

The request's session (``app.extensions.db``) may already hold a read transaction from
the permission checks; the unit continues it, so what was checked is what is written.
A refused or failed request leaves nothing behind: the rollback discards every row the
use case had added, the audit events included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.extensions import db


@contextmanager
def unit() -> Iterator[Session]:
    session = db()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
