"""calendar feed: each person's secret iCalendar address, stored as a SHA-256 only

Revision ID: 0013_calendar_feed
Revises: 0012_token_scope
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from incidents.db import UTCDateTime

revision = "0013_calendar_feed"
down_revision = "0012_token_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
    )
    op.create_index("ix_calendar_feed_person", "calendar_feed", ["person_id", "revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_calendar_feed_person", table_name="calendar_feed")
    op.drop_table("calendar_feed")
