"""`flask db upgrade|downgrade`: the Alembic migrations (the schema is never made by create_all)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.storage.migrate import downgrade, upgrade

db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at revision {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def downgrade_command(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at revision {revision}")
