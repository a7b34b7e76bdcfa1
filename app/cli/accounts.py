"""`flask accounts ...`: the people who sign in to the web console (/console)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import services
from app.services.accounts import CONSOLE_ROLES
from app.services.errors import ServiceError

accounts_cli = AppGroup("accounts", help="Console accounts: create, list, set a password, remove.")

PASSWORD = click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                        help="asked for when not given (at least 12 characters)")


@accounts_cli.command("create")
@click.argument("username")
@click.argument("role", type=click.Choice(CONSOLE_ROLES))
@PASSWORD
def create_account_command(username: str, role: str, password: str) -> None:
    """Create a console account USERNAME with ROLE; the password is stored as a scrypt hash."""
    try:
        services().accounts.create(username, role, password)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"created {username} ({role}): sign in at /console")


@accounts_cli.command("list")
def list_accounts_command() -> None:
    """List the console accounts (usernames and roles)."""
    for account in services().accounts.listed():
        click.echo(f"{account.username}\t{account.role}\t{account.created_at:%Y-%m-%d %H:%M}")


@accounts_cli.command("password")
@click.argument("username")
@PASSWORD
def password_command(username: str, password: str) -> None:
    """Set USERNAME's password; the account's open sessions end."""
    try:
        services().accounts.set_password(username, password)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"password of {username} changed")


@accounts_cli.command("remove")
@click.argument("username")
def remove_command(username: str) -> None:
    """Delete the account USERNAME and end its sessions."""
    try:
        services().accounts.remove(username)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"removed {username}")
