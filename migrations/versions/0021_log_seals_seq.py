"""An index on the seals' sequence numbers: the sealer's look for pending entries reads only the
seals of its window (seq above the head's less the late-commit window) instead of every seal of
the log, which grew with the log (app/storage/chain.py pending). Built in one go: on a long log
the sealers' inserts wait for it (CREATE INDEX holds off writes to log_seals); decisions do not
(they never write seals)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 19:40:00
"""
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_log_seals_seq', 'log_seals', ['log', 'seq'])


def downgrade():
    op.drop_index('ix_log_seals_seq', table_name='log_seals')
