"""the dashboard's partial indexes made covering, and one for the chains nobody acknowledged

At 1,000,000 incidents (15,000 open) the dashboard's counts read each open incident's
row for want of a column in the index: ``ix_incident_open`` gains ``acknowledged_at``
(today's open and unacknowledged counts per grade, from the index alone),
``ix_obligation_missed`` and ``ix_obligation_pending_due`` carry both the incident and
the obligation (the breach count joins incidents without reading obligations), and
``ix_chain_waiting`` holds only the running chains nobody acknowledged (the
unacknowledged set), not every running chain.

Revision ID: 0018_dashboard_covering
Revises: 0017_figures_tallies
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_dashboard_covering"
down_revision = "0017_figures_tallies"
branch_labels = None
depends_on = None

# Written out, not imported: a migration keeps the schema of its day.
_OPEN = "status IN ('new', 'acknowledged', 'handling', 'reopened')"
_NEW: tuple[tuple[str, str, list[str], str], ...] = (
    ("ix_incident_open", "incident", ["grade", "acknowledged_at", "id"], _OPEN),
    (
        "ix_obligation_pending_due",
        "obligation",
        ["due_at", "incident_id", "id"],
        "status = 'pending'",
    ),
    ("ix_obligation_missed", "obligation", ["due_at", "id", "incident_id"], "status = 'missed'"),
)
_OLD: tuple[tuple[str, str, list[str], str], ...] = (
    ("ix_incident_open", "incident", ["grade", "id"], _OPEN),
    ("ix_obligation_pending_due", "obligation", ["due_at", "incident_id"], "status = 'pending'"),
    ("ix_obligation_missed", "obligation", ["due_at", "id"], "status = 'missed'"),
)
_WAITING = "ended_at IS NULL AND acknowledged_at IS NULL"


def _create(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name, table, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def upgrade() -> None:
    for name, table, columns, where in _NEW:
        op.drop_index(name, table_name=table)
        _create(name, table, columns, where)
    _create("ix_chain_waiting", "escalation_chain", ["incident_id"], _WAITING)


def downgrade() -> None:
    op.drop_index("ix_chain_waiting", table_name="escalation_chain")
    for name, table, columns, where in _OLD:
        op.drop_index(name, table_name=table)
        _create(name, table, columns, where)
