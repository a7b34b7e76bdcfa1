"""PostgreSQL compresses the decisions' documents (result, trace, stored input, sealed personal
data) with lz4 instead of pglz, and the benchmark floor's row alike

A decision's trace is about 21 KB of JSON, stored out of line and compressed. Compressing it with
pglz was most of the cost of a decision's INSERT: 0.76 ms a row against 0.24 ms with lz4, measured
with 8 threads inserting the rows of a benchmark run (docs/performance.md). Only new values are
compressed with lz4; the rows already stored stay as they are and read the same. SQLite and a
PostgreSQL without lz4 (older than 14, or built without it) are left as they are: the choice is
the server's storage, not what is stored.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 19:55:00
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

COLUMNS = {"decisions": ("result", "trace", "input_masked", "pii_sealed"),
           "bench_floor": ("body", "trace")}


def _set(method):
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return
    try:
        with bind.begin_nested():  # a server built without lz4 refuses: keep its default
            for table, columns in COLUMNS.items():
                for column in columns:
                    op.execute(sa.text(f'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}'))
    except sa.exc.DBAPIError as error:
        logging.getLogger("alembic").warning("column compression left as it was: %s", error.orig)


def upgrade():
    _set("lz4")


def downgrade():
    _set("pglz")
