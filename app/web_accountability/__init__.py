"""Web pages for accountability (issue 5): the case list, the case, the perfunctory list.

The case page shows what the determination rests on — the facts with their sources, the
matched and the waived clauses with their text in the page's language, the sanctions
the tier allows with who decides them (Article 6) — and offers only the steps the
viewer may take (``accountability.present.actions_for``). Each form posts to one route
that calls one use case in ``accountability.cases``; a refusal comes back as a message
on the page, not as an error page. The pages hold no rules: those are in
``accountability``.

``blueprint`` holds ``bp_web``; ``labels`` the words the pages show; ``pages`` the
pages; ``steps`` the forms' routes.
"""

from __future__ import annotations

# Importing the route modules registers their views on ``bp_web``.
from app.web_accountability import pages, steps  # noqa: F401
from app.web_accountability.blueprint import bp_web

__all__ = ["bp_web"]
