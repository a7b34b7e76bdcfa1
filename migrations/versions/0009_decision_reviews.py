"""Human decisions on a decision: an underwriter closing a referral, an applicant's PIPL art. 24
request for explanation or human review and its answer; chained, append-only

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('decision_reviews',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('decision_id', sa.String(length=32), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('closes', sa.String(length=32), nullable=True),
                    sa.Column('answers', sa.String(length=32), nullable=True),
                    sa.Column('actor', sa.String(length=100), nullable=False),
                    sa.Column('role', sa.String(length=20), nullable=False),
                    sa.Column('body', sa.JSON(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('seq', sa.BigInteger(), nullable=True),
                    sa.Column('content_hash', sa.String(length=64), nullable=True),
                    sa.Column('row_mac', sa.String(length=80), nullable=True),
                    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('closes', name='uq_decision_reviews_closes'),
                    sa.UniqueConstraint('answers', name='uq_decision_reviews_answers'),
                    sa.UniqueConstraint('seq', name='uq_decision_reviews_seq'))
    op.create_index('ix_decision_reviews_decision_id', 'decision_reviews', ['decision_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE decision_reviews_seq")
        op.execute("CREATE TRIGGER decision_reviews_append_only BEFORE UPDATE OR DELETE ON decision_reviews "
                   "FOR EACH ROW EXECUTE FUNCTION firefly_append_only()")
        op.execute("CREATE TRIGGER decision_reviews_no_truncate BEFORE TRUNCATE ON decision_reviews "
                   "FOR EACH STATEMENT EXECUTE FUNCTION firefly_append_only()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER decision_reviews_no_truncate ON decision_reviews")
        op.execute("DROP TRIGGER decision_reviews_append_only ON decision_reviews")
        op.execute("DROP SEQUENCE decision_reviews_seq")
    op.drop_index('ix_decision_reviews_decision_id', table_name='decision_reviews')
    op.drop_table('decision_reviews')
