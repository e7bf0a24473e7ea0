"""bulletin: notices that are about no incident (an account's new Telegram link, the daily
audit checkpoint to the leading group office, a duty handoff)

One row per message to one address: the channel and address are copied when the notice
is written (a person's previous Telegram chat is told of a new link even though the link
disabled it), ``destination_id`` names the destination it came from (a group robot's
secret is read from there when sending). ``key`` makes a notice once-only: the daily
checkpoint message is written once a day however many workers run.

Revision ID: 0009_bulletin
Revises: 0008_accountability_text
Create Date: 2026-12-02 10:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_bulletin"
down_revision = "0008_accountability_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulletin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("destination_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("link_path", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "channel", "address", name="uq_bulletin_once"),
    )
    op.create_index(
        "ix_bulletin_queue",
        "bulletin",
        ["next_attempt_at", "id"],
        unique=False,
        sqlite_where=sa.text("status IN ('pending', 'sending')"),
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index("ix_bulletin_person", "bulletin", ["person_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bulletin_person", table_name="bulletin")
    op.drop_index("ix_bulletin_queue", table_name="bulletin")
    op.drop_table("bulletin")
