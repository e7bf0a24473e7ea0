"""``python -m app.cli``: the ``fenghuo`` command, as ``fenghuo run`` starts its worker
and bot."""

from __future__ import annotations

from app.cli import main

if __name__ == "__main__":
    main()
