"""A release's content is bound by a MAC (its id and content hash under the log key): its files
edited in the database, with their unkeyed content hash recomputed, no longer pass as approved
(app/services/integrity.py). Releases stored before have none until `flask audit vouch` gives them
one; until then they are not served. On PostgreSQL releases stay append-only but for that: a MAC
may be written once where there was none, nothing else changing.

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

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION firefly_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'decisions' THEN
    IF (to_jsonb(NEW) ->> 'pii_sealed') IS NULL
       AND (to_jsonb(NEW) - 'pii_sealed') = (to_jsonb(OLD) - 'pii_sealed') THEN
      RETURN NEW;  -- the retention purge of sealed personal data
    END IF;
  END IF;%s
  RAISE EXCEPTION 'firefly: %% is append-only: %% refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""
RELEASE_MAC = """
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'releases' THEN
    IF (to_jsonb(OLD) ->> 'row_mac') IS NULL
       AND (to_jsonb(NEW) - 'row_mac') = (to_jsonb(OLD) - 'row_mac') THEN
      RETURN NEW;  -- flask audit seal: a MAC for a release stored before releases had one
    END IF;
  END IF;"""


def upgrade():
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_mac', sa.String(length=80), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY % RELEASE_MAC)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY % "")
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('row_mac')
