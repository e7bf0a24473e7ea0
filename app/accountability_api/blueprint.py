"""The accountability API's blueprint: bearer authentication before every view, the
response headers after it, and the lookups the routes share — a case or an incident the
caller may see, or a 404 so that ids cannot be probed.
"""

from __future__ import annotations

from flask import Blueprint, Response

from accountability.access import can_view
from accountability.models import Case
from app.api.auth import authenticate, caps
from app.extensions import db, now
from incidents.errors import NotFound
from incidents.models import Incident
from incidents.permissions import can_view as can_view_incident

bp = Blueprint("accountability_api", __name__)

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@bp.before_request
def _authenticate() -> None:
    authenticate()


@bp.after_request
def _headers(response: Response) -> Response:
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fenghuo"'
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _visible_case(case_id: int) -> Case:
    case = db().get(Case, case_id)
    if case is None or not can_view(db(), caps(), case, now()):
        raise NotFound("no accountability case with id %(id)s", field="id", params={"id": case_id})
    return case


def _incident(incident_id: int) -> Incident:
    incident = db().get(Incident, incident_id)
    if incident is None or not can_view_incident(db(), caps(), incident):
        raise NotFound("no incident with id %(id)s", field="id", params={"id": incident_id})
    return incident
