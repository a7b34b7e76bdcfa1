"""Anti-fraud list changes under four eyes: a change that relaxes a control (a whitelist entry added
or extended, a blacklist or watchlist entry removed or shortened) waits in list_changes for a second
person; an entry's added_by holds "maker, approved by checker"; an entry carries a row MAC
(app/services/lists.py). The migration has no key: entries made before it have no MAC until
`flask audit vouch` (docs/anti_fraud.md); a whitelist entry without a valid MAC matches nothing.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('list_changes',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('action', sa.String(length=10), nullable=False),
                    sa.Column('list_name', sa.String(length=20), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('value_hash', sa.String(length=64), nullable=False),
                    sa.Column('key_id', sa.String(length=16), nullable=False),
                    sa.Column('masked', sa.String(length=120), nullable=False),
                    sa.Column('reason', sa.String(length=200), nullable=False),
                    sa.Column('source', sa.String(length=100), nullable=False),
                    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('entry_id', sa.Integer(), nullable=True),
                    sa.Column('before', sa.JSON(), nullable=True),
                    sa.Column('maker', sa.String(length=100), nullable=False),
                    sa.Column('maker_role', sa.String(length=20), nullable=False),
                    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('state', sa.String(length=10), nullable=False),
                    sa.Column('checker', sa.String(length=100), nullable=True),
                    sa.Column('checker_role', sa.String(length=20), nullable=True),
                    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('decision_reason', sa.String(length=2000), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_list_changes_state', 'list_changes', ['state', 'id'])
    with op.batch_alter_table('list_entries', schema=None) as batch_op:
        batch_op.alter_column('added_by', existing_type=sa.String(length=100), type_=sa.String(length=210),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('row_mac', sa.String(length=80), nullable=True))


def downgrade():
    op.execute("UPDATE list_entries SET added_by = substr(added_by, 1, 100)")
    with op.batch_alter_table('list_entries', schema=None) as batch_op:
        batch_op.drop_column('row_mac')
        batch_op.alter_column('added_by', existing_type=sa.String(length=210), type_=sa.String(length=100),
                              existing_nullable=False)
    op.drop_index('ix_list_changes_state', table_name='list_changes')
    op.drop_table('list_changes')
