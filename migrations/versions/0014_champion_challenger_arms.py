"""Champion/challenger: the arm that decided a row, and the champion decision a shadow row shadows

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arm', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('shadow_of', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_decisions_arm', ['arm'], unique=False)
        batch_op.create_index('ix_decisions_shadow_of', ['shadow_of'], unique=False)


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_shadow_of')
        batch_op.drop_index('ix_decisions_arm')
        batch_op.drop_column('shadow_of')
        batch_op.drop_column('arm')
