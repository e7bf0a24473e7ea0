"""indexes for every predicate the dashboard uses, partial where the set is small

Open incidents by grade (``ix_incident_open``), open incidents nobody has acknowledged
by detection (``ix_incident_unacknowledged``), running chains by incident
(``ix_chain_running``), pending and missed obligations by deadline
(``ix_obligation_pending_due``, ``ix_obligation_missed``); and plain indexes for
"today's" counts (acknowledged, resolved, breached since local midnight) and the
handled-promptly shares. Partial indexes on both engines (``WHERE`` on SQLite 3.8+ and
PostgreSQL); the predicates are the models' (``incidents.models``,
``escalation.models``) and the queries write the same constants.

Revision ID: 0015_dashboard_indexes
Revises: 0014_incident_search
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_dashboard_indexes"
down_revision = "0014_incident_search"
branch_labels = None
depends_on = None

# Written out, not imported: a migration keeps the schema of its day.
_OPEN = "status IN ('new', 'acknowledged', 'handling', 'reopened')"
_PARTIAL: tuple[tuple[str, str, list[str], str], ...] = (
    ("ix_incident_open", "incident", ["grade", "id"], _OPEN),
    (
        "ix_incident_unacknowledged",
        "incident",
        ["detected_at", "id"],
        f"{_OPEN} AND acknowledged_at IS NULL",
    ),
    (
        "ix_chain_running",
        "escalation_chain",
        ["incident_id", "acknowledged_at"],
        "ended_at IS NULL",
    ),
    ("ix_obligation_pending_due", "obligation", ["due_at", "incident_id"], "status = 'pending'"),
    ("ix_obligation_missed", "obligation", ["due_at", "id"], "status = 'missed'"),
)
_PLAIN: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_incident_acknowledged", "incident", ["acknowledged_at"]),
    ("ix_incident_resolved", "incident", ["resolved_at"]),
    ("ix_obligation_breached", "obligation", ["breached_at"]),
    ("ix_clock_handled_promptly", "incident_clock", ["handled_promptly"]),
)


def upgrade() -> None:
    for name, table, columns, where in _PARTIAL:
        op.create_index(
            name,
            table,
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    for name, table, columns in _PLAIN:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(_PLAIN):
        op.drop_index(name, table_name=table)
    for name, table, _columns, _where in reversed(_PARTIAL):
        op.drop_index(name, table_name=table)
