"""Backtests: stored traffic re-decided on a candidate as a background job

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-29 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('backtests',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('requested_by', sa.String(length=100), nullable=False),
                    sa.Column('policy_name', sa.String(length=200), nullable=False),
                    sa.Column('candidate_hash', sa.String(length=64), nullable=False),
                    sa.Column('candidate_version', sa.String(length=100), nullable=False),
                    sa.Column('candidate_files', sa.JSON(), nullable=False),
                    sa.Column('selection', sa.JSON(), nullable=False),
                    sa.Column('decided', sa.Integer(), nullable=False),
                    sa.Column('report', sa.JSON(), nullable=True),
                    sa.Column('changes', sa.JSON(), nullable=True),
                    sa.Column('error', sa.String(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_backtests_created', 'backtests', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_backtests_created', table_name='backtests')
    op.drop_table('backtests')
