"""The access log: who read, searched, replayed or exported which decisions; chained, append-only

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 11:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_events',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('actor', sa.String(length=100), nullable=False),
                    sa.Column('role', sa.String(length=20), nullable=False),
                    sa.Column('action', sa.String(length=40), nullable=False),
                    sa.Column('decision_ids', sa.JSON(), nullable=False),
                    sa.Column('details', sa.JSON(), nullable=False),
                    sa.Column('request_id', sa.String(length=64), nullable=True),
                    sa.Column('seq', sa.BigInteger(), nullable=True),
                    sa.Column('content_hash', sa.String(length=64), nullable=True),
                    sa.Column('row_mac', sa.String(length=80), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('seq', name='uq_access_events_seq'))
    op.create_index('ix_access_events_actor', 'access_events', ['actor', 'created_at'], unique=False)
    op.create_index('ix_access_events_action', 'access_events', ['action'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE access_events_seq")
        op.execute("CREATE INDEX ix_access_events_decisions_gin ON access_events USING gin ((decision_ids::jsonb))")
        # The append-only function of 0005: no UPDATE, DELETE or TRUNCATE for any role.
        op.execute("CREATE TRIGGER access_events_append_only BEFORE UPDATE OR DELETE ON access_events "
                   "FOR EACH ROW EXECUTE FUNCTION firefly_append_only()")
        op.execute("CREATE TRIGGER access_events_no_truncate BEFORE TRUNCATE ON access_events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION firefly_append_only()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_events_no_truncate ON access_events")
        op.execute("DROP TRIGGER access_events_append_only ON access_events")
        op.execute("DROP INDEX ix_access_events_decisions_gin")
        op.execute("DROP SEQUENCE access_events_seq")
    op.drop_index('ix_access_events_action', table_name='access_events')
    op.drop_index('ix_access_events_actor', table_name='access_events')
    op.drop_table('access_events')
