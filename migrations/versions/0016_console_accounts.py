"""Console accounts and their sessions (issue 16)

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-29 11:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('console_accounts',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('username', sa.String(length=100), nullable=False),
                    sa.Column('role', sa.String(length=20), nullable=False),
                    sa.Column('password_hash', sa.String(length=255), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('username'))
    op.create_table('console_sessions',
                    sa.Column('token_hash', sa.String(length=64), nullable=False),
                    sa.Column('account_id', sa.Integer(), nullable=False),
                    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['account_id'], ['console_accounts.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('token_hash'))
    op.create_index('ix_console_sessions_account_id', 'console_sessions', ['account_id'])


def downgrade():
    op.drop_index('ix_console_sessions_account_id', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_accounts')
