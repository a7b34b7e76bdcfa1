"""`flask audit ...`: seal the chained logs, verify them, purge sealed personal data after retention."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.extensions import services
from app.services.errors import ServiceError

audit_cli = AppGroup("audit", help="The tamper-evident logs: seal, verify, purge personal data.")


@audit_cli.command("seal")
def seal_command() -> None:
    """Seal every entry not sealed yet, anywhere in the logs (the workers do it every
    FIREFLY_SEAL_INTERVAL seconds within the last entries; this reads each log whole)."""
    click.echo(f"sealed {services().audit_log.seal(whole=True)} entries")


@audit_cli.command("verify")
@click.option("--log", "log_name", default=None, help="one log: decisions, access (default: every log)")
@click.option("--from", "first", type=click.IntRange(min=1), default=None, help="first entry (position, 1-based)")
@click.option("--to", "last", type=click.IntRange(min=1), default=None, help="last entry (position)")
def verify_command(log_name: str | None, first: int | None, last: int | None) -> None:
    """Recompute the chain; name every entry edited, deleted, inserted or reordered (exit status 1)."""
    failed = False
    for name in [log_name] if log_name else services().audit_log.logs():
        try:
            result = services().audit_log.verify(name, first, last)
        except ServiceError as error:
            raise click.ClickException(error.message) from None
        for finding in result.findings:
            click.echo(f"{name}: {finding}")
        state = "OK" if result.ok else f"FAILED ({len(result.findings)} findings)"
        behind = (f" ({result.behind_window} committed too late for the workers' sealing: "
                  f"`flask audit seal` seals them)" if result.behind_window else "")
        click.echo(f"{name}: {state}: {result.checked} sealed entries checked, {result.unsealed} not sealed "
                   f"yet{behind}; head {result.head or '-'}")
        failed = failed or not result.ok
    if failed:
        sys.exit(1)


@audit_cli.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="retention in days (default: FIREFLY_PII_RETENTION_DAYS)")
def purge_command(days: int | None) -> None:
    """Remove the sealed personal data of decisions older than the retention period (the chain
    still verifies; such decisions can no longer be replayed)."""
    days = days or services().settings.pii_retention_days
    if not days:
        raise click.ClickException("no retention period: set FIREFLY_PII_RETENTION_DAYS or pass --days")
    try:
        click.echo(f"purged the sealed personal data of {services().audit_log.purge_personal_data(days)} decisions")
    except ServiceError as error:
        raise click.ClickException(error.message) from None
