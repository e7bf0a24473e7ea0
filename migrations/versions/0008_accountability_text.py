"""accountability text: tier 4 is serious handling with a police referral beside it; Art. 4
judicial referral

Tier 4 (5.4 严肃处理,情况十分严重者应报警处理) always decides serious handling; a police
referral is added to it (``police_referral``), no longer chosen instead. Art. 4's
"构成违法犯罪的由司法机关依法追究刑事责任" is recorded as ``judicial_referral``, with the
reason for either in ``referral_reason``. A case decided before this revision with the
sanction ``police_referral`` becomes serious handling with the referral.

Revision ID: 0008_accountability_text
Revises: 0007_audit_anchor
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_accountability_text"
down_revision = "0007_audit_anchor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accountability_case") as batch:
        batch.add_column(
            sa.Column("police_referral", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("judicial_referral", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("referral_reason", sa.Text(), nullable=False, server_default=""))
    case = sa.table(
        "accountability_case",
        sa.column("sanction", sa.String()),
        sa.column("proposed_sanction", sa.String()),
        sa.column("police_referral", sa.Boolean()),
    )
    op.execute(
        case.update()
        .where(case.c.sanction == "police_referral")
        .values(sanction="serious_handling", police_referral=True)
    )
    op.execute(
        case.update()
        .where(case.c.proposed_sanction == "police_referral")
        .values(proposed_sanction="serious_handling", police_referral=True)
    )


def downgrade() -> None:
    case = sa.table(
        "accountability_case",
        sa.column("sanction", sa.String()),
        sa.column("proposed_sanction", sa.String()),
        sa.column("police_referral", sa.Boolean()),
    )
    op.execute(
        case.update()
        .where(case.c.police_referral.is_(True), case.c.sanction == "serious_handling")
        .values(sanction="police_referral")
    )
    with op.batch_alter_table("accountability_case") as batch:
        batch.drop_column("referral_reason")
        batch.drop_column("judicial_referral")
        batch.drop_column("police_referral")
