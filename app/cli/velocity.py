"""`flask velocity ...`: the anti-fraud memory (docs/anti_fraud.md, "Redis emptied")."""
from __future__ import annotations

import datetime

import click
from flask.cli import AppGroup

from app.extensions import services
from app.services.access import Principal
from app.services.errors import ServiceError

velocity_cli = AppGroup("velocity", help="The anti-fraud memory: counts, links, last-seen facts.")


def _who(key: str) -> Principal:
    principal = services().access.authenticate(key)
    if principal is None:
        raise click.ClickException("unknown API key")
    return principal


@velocity_cli.command("accept-loss")
@click.option("--key", envvar="FIREFLY_API_KEY", required=True,
              help="your API key (or FIREFLY_API_KEY): an admin's; recorded in the access log")
@click.option("--reason", required=True, help="why the loss is accepted: recorded with it")
def accept_loss_command(key: str, reason: str) -> None:
    """Count the anti-fraud memory as whole again after Redis lost it (a restart without
    persistence, a flush, an eviction). Until then, every value whose window reaches back before
    the memory began is missing, and the policy says what that means (the reference policy
    REFERs). Accepting the loss means the counts, links and last-seen facts restart from what
    Redis holds: decisions already stored are not counted again."""
    try:
        before = services().deciding.velocity.accept_loss(_who(key), reason)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    began = ("not recorded (Redis unavailable, or in this process only)" if before is None else
             datetime.datetime.fromtimestamp(before, datetime.timezone.utc).isoformat(timespec="seconds"))
    click.echo(f"the anti-fraud memory counts as whole again (it had begun: {began})")
