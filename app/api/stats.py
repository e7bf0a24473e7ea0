"""``GET /stats``: the figures of issue 3 item 8, computed from the records.

The figures count every incident of the bureau, so they are for those who may see every
incident (``sees_all``: the leadership, the command center, the office, the leading
group, HR); anyone else would learn about incidents outside their departments.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.api.auth import caps
from app.api.clock_shapes import Stats
from app.api.contract import endpoint
from app.extensions import db, now, services
from escalation.stats import figures
from incidents.permissions import require


@endpoint(
    "get",
    "/stats",
    operation_id="getStats",
    summary="Figures per grade: open, unacknowledged, due, breached",
    tag="escalation",
    response=Stats,
    errors=(401, 403),
    description="Bureau-wide, so only for those who see every incident. Shares are "
    "fractions; times are seconds.",
)
def get_stats() -> ResponseReturnValue:
    require(caps().sees_all, "the bureau-wide figures are for those who see every incident")
    return figures(db(), now=now(), tz=services().policy.tz)
