"""Keyed request hash and key ids: personal data that a rotated FIREFLY_HMAC_KEY still finds

request_hash becomes `key id:HMAC` of the request (it was an unkeyed SHA-256 of the clear body, from
which a name and phone could be guessed back); key_id names the key of a row's hashes and seal.
Rows stored before have no key id: their hashes and seal belong to the key configured at the time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.alter_column('request_hash', type_=sa.String(length=80), existing_type=sa.String(length=64))


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('request_hash', type_=sa.String(length=64), existing_type=sa.String(length=80))
        batch_op.drop_column('key_id')
