"""A release's content is bound by a MAC (its id and content hash under the log key): its files
edited in the database, with their unkeyed content hash recomputed, no longer pass as approved
(app/services/integrity.py). Releases stored before have none until `flask audit seal` gives them
one; until then they are not served.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 03:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_mac', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('row_mac')
