"""Append-only logs on PostgreSQL: decisions and log_seals refuse UPDATE, DELETE and TRUNCATE

A trigger (for every role, the application's included) refuses to change or remove a row of a
chained log. One update is allowed: the retention purge, which sets `decisions.pii_sealed` to NULL
and changes nothing else (the chain covers the sealed data's digest, not the data). A superuser can
still disable triggers; what such a person changes is what `flask audit verify` reports.
SQLite has no roles to protect against: the chain alone shows changes there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 11:20:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ("decisions", "log_seals")

FUNCTION = """
CREATE OR REPLACE FUNCTION firefly_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'decisions' THEN
    IF (to_jsonb(NEW) ->> 'pii_sealed') IS NULL
       AND (to_jsonb(NEW) - 'pii_sealed') = (to_jsonb(OLD) - 'pii_sealed') THEN
      RETURN NEW;  -- the retention purge of sealed personal data
    END IF;
  END IF;
  RAISE EXCEPTION 'firefly: % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION firefly_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION firefly_append_only()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION firefly_append_only()")
