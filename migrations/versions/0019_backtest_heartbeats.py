"""Backtest jobs beat: the moment their worker last said it is alive, and which worker it is

A job whose worker died (killed, out of memory, the machine restarted) stayed "running" forever; a
job whose heartbeat is older than the lease is now reported failed and can be run again.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 14:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('backtests') as batch:
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
    op.create_index('ix_backtests_candidate', 'backtests', ['candidate_hash'], unique=False)


def downgrade():
    op.drop_index('ix_backtests_candidate', table_name='backtests')
    with op.batch_alter_table('backtests') as batch:
        batch.drop_column('worker')
        batch.drop_column('heartbeat_at')
