"""delivery: the fallback clock of a notification, and an index of leased rows

``notification.fallback_since``: when a person's notice on one destination started
waiting for delivery; if it is still not sent ``fallback_after`` later, the next
destination (then the next person up) is given it. NULL once it is sent or handed on,
and for rows that never hand on (the inbox, broadcast and group destinations). Both
indexes are partial, so the sweep's two queries cost the same among a million sent rows.

Revision ID: 0006_delivery
Revises: 0005_inform
Create Date: 2026-12-01 23:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_delivery"
down_revision = "0005_inform"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_notification_fallback",
            ["fallback_since", "id"],
            unique=False,
            sqlite_where=sa.text("fallback_since IS NOT NULL"),
            postgresql_where=sa.text("fallback_since IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_notification_leased",
            ["next_attempt_at", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'sending'"),
            postgresql_where=sa.text("status = 'sending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_leased",
            sqlite_where=sa.text("status = 'sending'"),
            postgresql_where=sa.text("status = 'sending'"),
        )
        batch_op.drop_index(
            "ix_notification_fallback",
            sqlite_where=sa.text("fallback_since IS NOT NULL"),
            postgresql_where=sa.text("fallback_since IS NOT NULL"),
        )
        batch_op.drop_column("fallback_since")
