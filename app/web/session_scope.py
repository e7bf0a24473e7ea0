"""The request's unit of work for a write (:func:`app.extensions.writing`).

Loading the logged-in person already opened a (read) transaction on the request's
session; a write ends it and runs in a transaction of its own, committed when the block
ends and rolled back on any error, so a refused action stores nothing.
"""

from __future__ import annotations

from app.extensions import writing

__all__ = ["writing"]
