"""Policy releases: immutable sets of files with their check report, and their chained events

A release's state is the sum of its events (submitted, approved, rejected, activated, rolled
back), each with who, when and why; release_events is append-only on PostgreSQL like decisions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('releases',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('content_hash', sa.String(length=64), nullable=False),
                    sa.Column('files', sa.JSON(), nullable=False),
                    sa.Column('test_files', sa.JSON(), nullable=False),
                    sa.Column('report', sa.JSON(), nullable=False),
                    sa.Column('report_ok', sa.Boolean(), nullable=False),
                    sa.Column('bootstrap', sa.Boolean(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('created_by', sa.String(length=100), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('content_hash'))
    op.create_table('release_events',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('release_id', sa.String(length=32), nullable=False),
                    sa.Column('action', sa.String(length=20), nullable=False),
                    sa.Column('actor', sa.String(length=100), nullable=False),
                    sa.Column('role', sa.String(length=20), nullable=False),
                    sa.Column('reason', sa.String(length=2000), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('seq', sa.BigInteger(), nullable=True),
                    sa.Column('content_hash', sa.String(length=64), nullable=True),
                    sa.Column('row_mac', sa.String(length=80), nullable=True),
                    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], ),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('seq', name='uq_release_events_seq'))
    op.create_index('ix_release_events_release_id', 'release_events', ['release_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE release_events_seq")
        for table in ("releases", "release_events"):
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION firefly_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION firefly_append_only()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in ("releases", "release_events"):
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP SEQUENCE release_events_seq")
    op.drop_index('ix_release_events_release_id', table_name='release_events')
    op.drop_table('release_events')
    op.drop_table('releases')
