"""Importing the organisation, with what the escalation layer keeps beside it.

``incidents.org_io.import_org`` applies the organisation file (people, positions,
departments, systems). A person's email address is also where an inform can reach them:
after the import, every active person with an address has an email destination for it
(``escalation.destinations.sync_email_destinations``), in the same transaction. Every
face imports through :func:`import_organisation`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from escalation.destinations import sync_email_destinations
from incidents.audit import Actor
from incidents.org_io import ImportResult, import_org


def import_organisation(
    session: Session, text: str, *, actor: Actor, now: datetime
) -> ImportResult:
    """Apply the organisation file and keep each person's email destination in step."""
    result = import_org(session, text, actor=actor, now=now)
    sync_email_destinations(session, now, actor=actor)
    return result
