"""audit anchor: keyed audit hashes, a MAC on the chain head, server-side web sessions,
a per-address login limit shared by every web worker

Events carry the id of the audit key that hashed them (empty for events written before:
those verify unkeyed, as the chain's first events only). The head carries a MAC of its
sequence number and hash, and only moves forward. Web sessions are rows, so logout and
a password change end them on the server; failed logins are counted per address in the
database, so the limit holds across gunicorn workers.

Revision ID: 0007_audit_anchor
Revises: 0006_delivery
Create Date: 2026-12-01 23:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from incidents.audit_triggers import (
    PG_HEAD_TRIGGER_DROP_SQL,
    PG_HEAD_TRIGGER_SQL,
    SQLITE_HEAD_TRIGGER_DROP,
    SQLITE_HEAD_TRIGGER_SQL,
)

revision = "0007_audit_anchor"
down_revision = "0006_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild on SQLite, which would drop the triggers).
    op.add_column(
        "audit_event", sa.Column("key_id", sa.String(length=16), nullable=False, server_default="")
    )
    op.add_column(
        "audit_head", sa.Column("mac", sa.String(length=64), nullable=False, server_default="")
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_web_session_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    op.create_index("ix_web_session_person", "web_session", ["person_id", "revoked_at"])
    op.create_table(
        "login_throttle",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_login_throttle")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_HEAD_TRIGGER_SQL)
    else:
        for statement in SQLITE_HEAD_TRIGGER_SQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_HEAD_TRIGGER_DROP_SQL)
    else:
        for name in SQLITE_HEAD_TRIGGER_DROP:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("login_throttle")
    op.drop_index("ix_web_session_person", table_name="web_session")
    op.drop_table("web_session")
    op.drop_column("audit_head", "mac")
    op.drop_column("audit_event", "key_id")
