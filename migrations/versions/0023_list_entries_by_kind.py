"""A list entry is one per list, kind and value: a device listed under a phone number's digits and
that phone are two entries, matched only by fields of their own kind (app/services/lists.py)

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 01:10:00
"""
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('list_entries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_list_entries_value', type_='unique')
        batch_op.create_unique_constraint('uq_list_entries_value', ['list_name', 'kind', 'value_hash'])


def downgrade():
    # two entries of one list and value under different kinds cannot both stay: the later goes
    op.execute("DELETE FROM list_entries WHERE id NOT IN "
               "(SELECT min(id) FROM list_entries GROUP BY list_name, value_hash)")
    with op.batch_alter_table('list_entries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_list_entries_value', type_='unique')
        batch_op.create_unique_constraint('uq_list_entries_value', ['list_name', 'value_hash'])
