"""Who is looking: the logged-in person's capabilities, audit actor and visible incidents."""

from __future__ import annotations

from flask_login import current_user

from app.auth import AppUser
from app.extensions import db
from incidents.audit import Actor
from incidents.errors import NotFound
from incidents.models import Incident
from incidents.permissions import Capabilities, can_view
from incidents.service import get_incident


def user() -> AppUser:
    found: AppUser = current_user._get_current_object()
    return found


def caps() -> Capabilities:
    return user().caps()


def actor() -> Actor:
    """The audit actor for a write made through the web face."""
    return Actor(user().person_id, user().login, "web")


def visible_incident(incident_id: int) -> Incident:
    """The incident, if the viewer may read it; otherwise the same answer as a missing one.

    A department head must not learn that another department's incident exists, so an
    invisible incident is a 404, not a 403.
    """
    incident = get_incident(db(), incident_id)
    if not can_view(db(), caps(), incident):
        raise NotFound("no incident with id %(id)s", field="id", params={"id": incident_id})
    return incident
