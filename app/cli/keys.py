"""`flask keys ...`: API keys stored hashed in the database, and where the development keys come from."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.config import DEV_API_KEYS
from app.extensions import services
from app.services.access import ROLES, parse_binds
from app.services.errors import ServiceError

keys_cli = AppGroup("keys", help="API keys: create keys (stored hashed) and show the development keys.")


@keys_cli.command("create")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--bind", "binds", multiple=True, metavar="PATH=V1|V2",
              help="the key may send this input field only with these values, e.g. "
                   "device.channel=PARTNER for a partner's system (repeatable)")
def create_key_command(name: str, role: str, binds: tuple[str, ...]) -> None:
    """Create an API key NAME with ROLE; prints the key once (only its hash is stored)."""
    try:
        bound = parse_binds(binds)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--bind") from None
    try:
        click.echo(services().access.create(name, role, bound))
    except ServiceError as error:
        raise click.ClickException(error.message) from None


@keys_cli.command("list")
def list_keys_command() -> None:
    """List the keys stored in the database (names and roles; the keys themselves are not kept)."""
    for key in services().access.stored():
        bound = ";".join(f"{path}={'|'.join(values)}" for path, values in key.binds)
        click.echo(f"{key.name}\t{key.role}{f'[{bound}]' if bound else ''}\t{key.created_at:%Y-%m-%d %H:%M}")


@keys_cli.command("revoke")
@click.argument("name")
def revoke_key_command(name: str) -> None:
    """Delete the stored key NAME: it stops working at once, in every worker."""
    try:
        services().access.revoke(name)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"revoked {name}")


@keys_cli.command("dev-info")
def dev_info_command() -> None:
    """Say where the API keys come from in this environment."""
    if services().access.uses_development_keys:
        click.echo("API keys: the development defaults (FIREFLY_API_KEYS unset, see app/config.py):")
        for item in DEV_API_KEYS.split(","):
            _name, role, key = item.split(":")
            click.echo(f"  {role:<11} X-API-Key: {key}")
    else:
        click.echo("API keys: from FIREFLY_API_KEYS (name:role:key,...) and `flask keys create`.")
