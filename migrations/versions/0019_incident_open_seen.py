"""the open incidents' partial index also holds the responsible department and detection time

A department head's dashboard reads what they see of the open incidents once
(``app.web.dashboard.seen_by``): grade, acknowledged, responsible department, detected.
With the department, the detection time and the status (SQLite tests the query's status
terms on the index's rows: without it no query is answered from the index alone) in
``ix_incident_open`` that read, and the grade counts, come from the index instead of
15,000 incident rows fetched one by one (1,000,000 incidents).

Revision ID: 0019_incident_open_seen
Revises: 0018_dashboard_covering
Create Date: 2026-12-04 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_incident_open_seen"
down_revision = "0018_dashboard_covering"
branch_labels = None
depends_on = None

# Written out, not imported: a migration keeps the schema of its day.
_OPEN = "status IN ('new', 'acknowledged', 'handling', 'reopened')"
_NEW = ["grade", "acknowledged_at", "responsible_department_id", "detected_at", "id", "status"]
_OLD = ["grade", "acknowledged_at", "id"]


def _replace(columns: list[str]) -> None:
    op.drop_index("ix_incident_open", table_name="incident")
    op.create_index(
        "ix_incident_open",
        "incident",
        columns,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    _replace(_OLD)
