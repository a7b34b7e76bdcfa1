"""Drawdowns and reviews: the keyed hash of the credit line a decision is about, and the
application decision that granted the line

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('granted_by', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_decisions_line_hash', ['line_hash'], unique=False)
        batch_op.create_index('ix_decisions_granted_by', ['granted_by'], unique=False)


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_granted_by')
        batch_op.drop_index('ix_decisions_line_hash')
        batch_op.drop_column('granted_by')
        batch_op.drop_column('line_hash')
