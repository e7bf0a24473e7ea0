"""The request's unit of work for a write.

Loading the logged-in person already opened a (read) transaction on the request's
session; a write ends it and runs in a transaction of its own, committed when the block
ends and rolled back on any error, so a refused action stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.extensions import db


@contextmanager
def writing() -> Iterator[Session]:
    session = db()
    if session.in_transaction():
        session.commit()
    with session.begin():
        yield session
