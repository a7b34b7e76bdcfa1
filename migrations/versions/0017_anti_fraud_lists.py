"""Anti-fraud lists: blacklist, watchlist and whitelist entries by keyed hash (issue 12)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('list_entries',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('list_name', sa.String(length=20), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('value_hash', sa.String(length=64), nullable=False),
                    sa.Column('key_id', sa.String(length=16), nullable=False),
                    sa.Column('masked', sa.String(length=120), nullable=False),
                    sa.Column('reason', sa.String(length=200), nullable=False),
                    sa.Column('source', sa.String(length=100), nullable=False),
                    sa.Column('added_by', sa.String(length=100), nullable=False),
                    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('list_name', 'value_hash', name='uq_list_entries_value'))
    op.create_index('ix_list_entries_value_hash', 'list_entries', ['value_hash'])


def downgrade():
    op.drop_index('ix_list_entries_value_hash', table_name='list_entries')
    op.drop_table('list_entries')
