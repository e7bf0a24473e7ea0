"""duty handoffs (交接班): one row per duty officer shift that changed hands

Written by the worker when a shift starts (once per role and shift start: the unique key
makes several workers and restarts harmless); acknowledged once, by compare-and-set, by
the outgoing or the incoming person; reminded once when left unacknowledged.

Revision ID: 0011_handoffs
Revises: 0010_rosters
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from incidents.db import UTCDateTime

revision = "0011_handoffs"
down_revision = "0010_rosters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_handoff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("shift_starts_at", UTCDateTime(), nullable=False),
        sa.Column("shift_ends_at", UTCDateTime(), nullable=False),
        sa.Column("outgoing_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("incoming_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("open_incidents", sa.Integer(), nullable=False),
        sa.Column("running_deadlines", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("acknowledged_by_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("acknowledged_via", sa.String(16), nullable=False),
        sa.Column("reminded_at", UTCDateTime()),
        sa.UniqueConstraint("role", "shift_starts_at", name="uq_duty_handoff_shift"),
    )
    op.create_index("ix_duty_handoff_outgoing", "duty_handoff", ["outgoing_id", "id"])
    op.create_index("ix_duty_handoff_incoming", "duty_handoff", ["incoming_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_duty_handoff_incoming", table_name="duty_handoff")
    op.drop_index("ix_duty_handoff_outgoing", table_name="duty_handoff")
    op.drop_table("duty_handoff")
