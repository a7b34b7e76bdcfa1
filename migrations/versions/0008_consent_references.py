"""Consent references on the decision: the PIPL consent id and the bureau query authorisation id

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 12:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pipl_consent_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('bureau_authorisation_id', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_decisions_pipl_consent_id', ['pipl_consent_id'], unique=False)
        batch_op.create_index('ix_decisions_bureau_authorisation_id', ['bureau_authorisation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_bureau_authorisation_id')
        batch_op.drop_index('ix_decisions_pipl_consent_id')
        batch_op.drop_column('bureau_authorisation_id')
        batch_op.drop_column('pipl_consent_id')
