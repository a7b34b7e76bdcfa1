"""Reasons and rule hits on the decision row: one INSERT per decision

The search tables decision_reasons and decision_rule_hits cost two more statements per decision.
Reason codes already sit on the row (reason_codes); the rules hit join them as rule_hits. Searches
use json_each on SQLite and jsonb containment, GIN-indexed, on PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 20:41:18
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

GIN_INDEXES = {"ix_decisions_reason_codes_gin": "reason_codes", "ix_decisions_rule_hits_gin": "rule_hits"}


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_hits', sa.JSON(), nullable=True))
    aggregate = "json_agg(rule_id ORDER BY rule_id)" if postgres else "json_group_array(rule_id)"
    op.execute(f"UPDATE decisions SET rule_hits = (SELECT {aggregate} FROM decision_rule_hits h "
               f"WHERE h.decision_id = decisions.id)")
    op.drop_index('ix_decision_rule_hits_rule_id', table_name='decision_rule_hits')
    op.drop_table('decision_rule_hits')
    op.drop_index('ix_decision_reasons_code', table_name='decision_reasons')
    op.drop_table('decision_reasons')
    if postgres:
        for name, column in GIN_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON decisions USING gin (({column}::jsonb))")


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for name in GIN_INDEXES:
            op.execute(f"DROP INDEX {name}")
    op.create_table('decision_reasons',
                    sa.Column('decision_id', sa.String(length=32), nullable=False),
                    sa.Column('position', sa.Integer(), nullable=False),
                    sa.Column('code', sa.String(length=100), nullable=False),
                    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
                    sa.PrimaryKeyConstraint('decision_id', 'position'))
    op.create_index('ix_decision_reasons_code', 'decision_reasons', ['code'], unique=False)
    op.create_table('decision_rule_hits',
                    sa.Column('decision_id', sa.String(length=32), nullable=False),
                    sa.Column('rule_id', sa.String(length=100), nullable=False),
                    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
                    sa.PrimaryKeyConstraint('decision_id', 'rule_id'))
    op.create_index('ix_decision_rule_hits_rule_id', 'decision_rule_hits', ['rule_id'], unique=False)
    if postgres:
        op.execute("INSERT INTO decision_reasons SELECT DISTINCT ON (d.id, e.code) d.id, e.n - 1, e.code "
                   "FROM decisions d, json_array_elements_text(d.reason_codes) WITH ORDINALITY e(code, n)")
        op.execute("INSERT INTO decision_rule_hits SELECT DISTINCT d.id, e.rule FROM decisions d, "
                   "json_array_elements_text(coalesce(d.rule_hits, '[]')) e(rule)")
    else:
        op.execute("INSERT OR IGNORE INTO decision_reasons SELECT d.id, e.key, e.value FROM decisions d, "
                   "json_each(d.reason_codes) e")
        op.execute("INSERT OR IGNORE INTO decision_rule_hits SELECT d.id, e.value FROM decisions d, "
                   "json_each(coalesce(d.rule_hits, '[]')) e")
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('rule_hits')
