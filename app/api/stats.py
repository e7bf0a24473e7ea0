"""``GET /stats``: the figures of issue 3 item 8, computed from the records.

The figures count every incident of the bureau, so they are for those who may see every
incident (``sees_all``: the leadership, the command center, the office, the leading
group, HR); anyone else would learn about incidents outside their departments.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import caps
from app.api.params import check_query
from app.extensions import db, now, services
from escalation.stats import figures
from incidents.permissions import require


@bp.get("/stats")
def get_stats() -> ResponseReturnValue:
    check_query(())
    require(caps().sees_all, "the bureau-wide figures are for those who see every incident")
    return jsonify(figures(db(), now=now(), tz=services().policy.tz))
