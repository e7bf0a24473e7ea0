"""accountability: cases, findings, determinations, agreements

Tables of the accountability layer (accountability/models.py): one case per (incident,
subject person), the findings and overrides entered for it, every determination with its
facts snapshot and rule version, and the agreements of 6(2) joint decisions.

Revision ID: 0004_accountability
Revises: 0003_telegram
Create Date: 2026-11-27 05:42:18.351036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004_accountability'
down_revision = '0003_telegram'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accountability_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('subject_role', sa.String(length=40), nullable=False),
    sa.Column('subject_clause', sa.String(length=8), nullable=False),
    sa.Column('subject_basis', sa.String(length=200), nullable=False),
    sa.Column('subject_department_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=True),
    sa.Column('uncovered', sa.Boolean(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('proposed_sanction', sa.String(length=32), nullable=True),
    sa.Column('proposal_reason', sa.Text(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decider_clause', sa.String(length=8), nullable=True),
    sa.Column('sanction', sa.String(length=32), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('for_noncompliance', sa.Boolean(), nullable=False),
    sa.Column('executed_by_id', sa.Integer(), nullable=True),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('police_reported_on', sa.Date(), nullable=True),
    sa.Column('police_executed_on', sa.Date(), nullable=True),
    sa.Column('police_closed_on', sa.Date(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('perfunctory', sa.Boolean(), nullable=False),
    sa.Column('waived_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['person.id'], name=op.f('fk_accountability_case_closed_by_id_person')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['person.id'], name=op.f('fk_accountability_case_decided_by_id_person')),
    sa.ForeignKeyConstraint(['executed_by_id'], ['person.id'], name=op.f('fk_accountability_case_executed_by_id_person')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_accountability_case_incident_id_incident'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['opened_by_id'], ['person.id'], name=op.f('fk_accountability_case_opened_by_id_person')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['person.id'], name=op.f('fk_accountability_case_proposed_by_id_person')),
    sa.ForeignKeyConstraint(['subject_department_id'], ['department.id'], name=op.f('fk_accountability_case_subject_department_id_department')),
    sa.ForeignKeyConstraint(['subject_id'], ['person.id'], name=op.f('fk_accountability_case_subject_id_person'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_case')),
    sa.UniqueConstraint('incident_id', 'subject_id', name='uq_accountability_case_subject')
    )
    with op.batch_alter_table('accountability_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountability_case_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountability_case_perfunctory'), ['perfunctory'], unique=False)
        batch_op.create_index('ix_accountability_case_status', ['status', 'id'], unique=False)
        batch_op.create_index('ix_accountability_case_subject_executed', ['subject_id', 'executed_at'], unique=False)

    op.create_table('accountability_agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('party', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('agreed', sa.Boolean(), nullable=False),
    sa.Column('sanction', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['accountability_case.id'], name=op.f('fk_accountability_agreement_case_id_accountability_case'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_accountability_agreement_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_agreement')),
    sa.UniqueConstraint('case_id', 'round', 'party', name='uq_accountability_agreement_party')
    )
    op.create_table('accountability_determination',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('rule_version', sa.String(length=40), nullable=False),
    sa.Column('facts_json', sa.Text(), nullable=False),
    sa.Column('sources_json', sa.Text(), nullable=False),
    sa.Column('assessment_json', sa.Text(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('determined_by_id', sa.Integer(), nullable=True),
    sa.Column('determined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['accountability_case.id'], name=op.f('fk_accountability_determination_case_id_accountability_case'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['determined_by_id'], ['person.id'], name=op.f('fk_accountability_determination_determined_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_determination'))
    )
    with op.batch_alter_table('accountability_determination', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountability_determination_case_id'), ['case_id'], unique=False)

    op.create_table('accountability_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('fact', sa.String(length=40), nullable=False),
    sa.Column('value_json', sa.Text(), nullable=False),
    sa.Column('is_override', sa.Boolean(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['accountability_case.id'], name=op.f('fk_accountability_finding_case_id_accountability_case'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['person.id'], name=op.f('fk_accountability_finding_recorded_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_finding'))
    )
    with op.batch_alter_table('accountability_finding', schema=None) as batch_op:
        batch_op.create_index('ix_accountability_finding_case_fact', ['case_id', 'fact', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('accountability_finding', schema=None) as batch_op:
        batch_op.drop_index('ix_accountability_finding_case_fact')

    op.drop_table('accountability_finding')
    with op.batch_alter_table('accountability_determination', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accountability_determination_case_id'))

    op.drop_table('accountability_determination')
    op.drop_table('accountability_agreement')
    with op.batch_alter_table('accountability_case', schema=None) as batch_op:
        batch_op.drop_index('ix_accountability_case_subject_executed')
        batch_op.drop_index('ix_accountability_case_status')
        batch_op.drop_index(batch_op.f('ix_accountability_case_perfunctory'))
        batch_op.drop_index(batch_op.f('ix_accountability_case_incident_id'))

    op.drop_table('accountability_case')
