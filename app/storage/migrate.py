"""Run the Alembic migrations from code (the CLI, make run and the tests use this)."""
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import AppGroup

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


def include_object(_obj, name, type_, _reflected, _compare_to):
    """Autogenerate leaves alone the PostgreSQL-only GIN expression indexes made by migration 0002."""
    return not (type_ == "index" and name and name.endswith("_gin"))


def alembic_config(url):
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url, revision="head"):
    command.upgrade(alembic_config(url), revision)


def downgrade(url, revision="base"):
    command.downgrade(alembic_config(url), revision)


db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision):
    """Apply migrations up to REVISION (default: head)."""
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url, revision)
    click.echo(f"database at revision {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def downgrade_command(revision):
    """Revert migrations down to REVISION (default: one step)."""
    downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at revision {revision}")
