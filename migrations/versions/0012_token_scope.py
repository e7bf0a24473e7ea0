"""API token scope: "full" (what its person may do) or "intake" (monitoring alerts only)

Revision ID: 0012_token_scope
Revises: 0011_handoffs
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_token_scope"
down_revision = "0011_handoffs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(16), nullable=False, server_default="full")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("scope")
