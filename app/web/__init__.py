"""The web face: pages for people, behind Flask-Login sessions and CSRF-protected forms.

Every page is rendered on the server in the viewer's language; the few live parts (the
dashboard, an incident's countdowns, the grade suggestion on the log form) fetch small
JSON documents from this same blueprint with the session cookie, because the JSON API
under ``/api/v1`` accepts bearer tokens only. Views parse, call one use case (from
``escalation.response`` for every write that touches an incident) and render; they hold
no business rules.

Modules, one idea each: ``templating`` (filters and names), ``viewer`` (who is asking),
``forms`` (form fields to use-case input), ``session_scope`` (the unit of work of a
write), ``dashboard``, ``incident_pages`` (list, log form, incident page), ``clocks`` and
``deadlines`` (what the clocks show), ``actions`` (the buttons on an incident),
``report_pages`` (filing and the printable document), ``org_pages``, ``org_admin``
(the admins' import and export of the organisation), ``profile``, ``inbox``, ``rosters``
and ``roster_forms`` (the duty roster calendar, the holiday table and their forms).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)

# Importing the modules registers their routes on ``bp``.
from app.web import actions as actions  # noqa: E402  (the blueprint must exist first)
from app.web import calendar_feed as calendar_feed  # noqa: E402
from app.web import dashboard as dashboard  # noqa: E402
from app.web import favicon as favicon  # noqa: E402
from app.web import handoffs as handoffs  # noqa: E402
from app.web import inbox as inbox  # noqa: E402
from app.web import incident_pages as incident_pages  # noqa: E402
from app.web import org_admin as org_admin  # noqa: E402
from app.web import org_pages as org_pages  # noqa: E402
from app.web import paging_words as paging_words  # noqa: E402
from app.web import profile as profile  # noqa: E402
from app.web import receipts as receipts  # noqa: E402
from app.web import report_pages as report_pages  # noqa: E402
from app.web import rosters as rosters  # noqa: E402
from app.web import templating as templating  # noqa: E402
from app.web import trends as trends  # noqa: E402
