"""monitoring intake: one row per alert group, unique on its dedup key

Revision ID: 0010_intake
Revises: 0009_bulletin
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_intake"
down_revision = "0009_bulletin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_group",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("firing", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key", name="uq_intake_group_key"),
    )


def downgrade() -> None:
    op.drop_table("intake_group")
