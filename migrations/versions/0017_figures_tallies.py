"""all-time figures as counters kept by triggers: incident_tally, figures_rollup; today's indexes

``incident_tally`` (one row per incident: grade, obligations met, late, missed and
pending, seconds to acknowledge and to resolve, handled promptly) and ``figures_rollup``
(their sums per grade), recounted here from the rows already there, then kept by
triggers on ``incident``, ``obligation``, ``incident_clock`` and ``incident_tally`` on
both engines (``escalation.tallies``). And ``ix_report_filed`` for the reports filed
today, the one day-range count without an index.

Revision ID: 0017_figures_tallies
Revises: 0016_incident_short_search
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from escalation.tallies import rebuild, uninstall

revision = "0017_figures_tallies"
down_revision = "0016_incident_short_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_tally",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=32), nullable=False),
        sa.Column("obligations_met", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("obligations_late", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("obligations_missed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("obligations_pending", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("acknowledge_seconds", sa.Float(), nullable=True),
        sa.Column("resolve_seconds", sa.Float(), nullable=True),
        sa.Column("handled_promptly", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_incident_tally_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_tally")),
    )
    counters = [
        "incidents",
        "reports_met",
        "reports_late",
        "reports_missed",
        "incidents_failed",
        "incidents_owing",
        "acknowledged",
        "resolved",
        "promptly_yes",
        "promptly_no",
    ]
    op.create_table(
        "figures_rollup",
        sa.Column("grade", sa.String(length=32), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in counters),
        sa.Column("acknowledge_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.Column("resolve_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("grade", name=op.f("pk_figures_rollup")),
    )
    op.create_index("ix_report_filed", "report", ["filed_at"])
    # Recounted from the rows, then the triggers keep both tables.
    rebuild(op.get_bind())


def downgrade() -> None:
    uninstall(op.get_bind())
    op.drop_index("ix_report_filed", table_name="report")
    op.drop_table("figures_rollup")
    op.drop_table("incident_tally")
