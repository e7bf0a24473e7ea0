"""duty rosters: rosters, versioned rotations, overrides and swaps, the holiday table

Revision ID: 0010_rosters
Revises: 0010_intake
Create Date: 2026-12-02 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from incidents.db import UTCDateTime

revision = "0010_rosters"
down_revision = "0010_intake"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "roster_rotation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("roster_id", sa.Integer(), sa.ForeignKey("roster.id"), nullable=False),
        sa.Column("people_json", sa.Text(), nullable=False),
        sa.Column("holiday_people_json", sa.Text(), nullable=False),
        sa.Column("handoffs", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("anchor_date", sa.String(10), nullable=False),
        sa.Column("effective_from", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("person.id")),
    )
    op.create_index("ix_roster_rotation_roster", "roster_rotation", ["roster_id", "effective_from"])
    op.create_table(
        "roster_override",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("roster_id", sa.Integer(), sa.ForeignKey("roster.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("replaces_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("swap_key", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("revoked_by_id", sa.Integer(), sa.ForeignKey("person.id")),
    )
    op.create_index(
        "ix_roster_override_span", "roster_override", ["roster_id", "starts_at", "ends_at"]
    )
    op.create_table(
        "holiday_day",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
    )
    op.create_table(
        "holiday_year",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("seeded_from", sa.String(32), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime()),
        sa.Column("confirmed_by_id", sa.Integer(), sa.ForeignKey("person.id")),
    )


def downgrade() -> None:
    for table in ("holiday_year", "holiday_day", "roster_override", "roster_rotation", "roster"):
        op.drop_table(table)
