"""Stored API keys, console accounts and console sessions carry a MAC of who they are (app/services/
identity.py): a row inserted or edited in the database authenticates nobody. An API key may be
bound to input values (`binds`: a partner's key sends only device.channel=PARTNER). Keys and accounts
stored before have none until `flask audit vouch` gives them one; sessions begun before end (their
holders sign in again).

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 03:55:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

TABLES = ('api_keys', 'console_accounts', 'console_sessions')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('row_mac', sa.String(length=80), nullable=True))
            if table == 'api_keys':  # a key bound to input values (a partner's key: device.channel=PARTNER)
                batch_op.add_column(sa.Column('binds', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('binds')
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('row_mac')
