"""The lists' version token: written with every change to list_entries, read by each worker's
copy of the lists to know when to load them again (app/services/lists.py)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 17:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lists_version',
                    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('token', sa.String(length=32), nullable=False),
                    sa.PrimaryKeyConstraint('id'))


def downgrade():
    op.drop_table('lists_version')
