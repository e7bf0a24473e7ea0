"""The accountability pages' blueprint, its navigation flag, and the lookup its routes
share: a case the viewer may see, or a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from accountability.access import can_view
from accountability.models import Case
from app.extensions import db, now
from app.web.translate import _
from app.web.viewer import caps
from incidents.errors import NotFound

bp_web = Blueprint("accountability_web", __name__)


@bp_web.app_context_processor
def _nav() -> dict[str, Any]:
    # ``base.html`` includes the accountability link only where this blueprint is
    # registered: without it, the flag is undefined and the link is left out.
    return {"accountability_nav": True}


def _visible_case(case_id: int) -> Case:
    case = db().get(Case, case_id)
    if case is None or not can_view(db(), caps(), case, now()):
        raise NotFound(_("No such accountability case."), field="id")
    return case
