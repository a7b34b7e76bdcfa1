"""The chained decision log: sequence numbers, content hashes and MACs on decisions; the seals

Each decision gets `seq` (PostgreSQL: the decisions_seq sequence), `content_hash`, `row_mac` and
`pii_digest`; `log_seals` holds the chain, one link per entry, written by the sealer. Rows stored
before this migration have no MAC: `flask audit verify` reports them (docs/controls.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 11:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_mac', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('pii_digest', sa.String(length=64), nullable=True))
    # Rows stored before get their numbers in the order they were made (ids sort by time).
    op.execute("UPDATE decisions SET seq = (SELECT count(*) FROM decisions d2 WHERE d2.id <= decisions.id)")
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_decisions_seq', ['seq'])
    if postgres:
        op.execute("CREATE SEQUENCE decisions_seq")
        op.execute("SELECT setval('decisions_seq', (SELECT coalesce(max(seq), 0) + 1 FROM decisions), false)")
    op.create_table('log_seals',
                    sa.Column('log', sa.String(length=20), nullable=False),
                    sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
                    sa.Column('entry_id', sa.String(length=64), nullable=False),
                    sa.Column('seq', sa.BigInteger(), nullable=False),
                    sa.Column('content_hash', sa.String(length=64), nullable=False),
                    sa.Column('prev_hash', sa.String(length=80), nullable=False),
                    sa.Column('entry_hash', sa.String(length=80), nullable=False),
                    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('log', 'position'))
    op.create_index('ux_log_seals_entry', 'log_seals', ['log', 'entry_id'], unique=True)


def downgrade():
    op.drop_index('ux_log_seals_entry', table_name='log_seals')
    op.drop_table('log_seals')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE decisions_seq")
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_decisions_seq', type_='unique')
        batch_op.drop_column('pii_digest')
        batch_op.drop_column('row_mac')
        batch_op.drop_column('content_hash')
        batch_op.drop_column('seq')
