"""`flask lists ...`: anti-fraud lists (blacklist, watchlist, whitelist) kept by keyed hash."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.extensions import services
from app.services.access import Principal
from app.services.lists import CHANGE_STATES, LISTS
from app.services.errors import ServiceError

lists_cli = AppGroup("lists", help="Anti-fraud lists: import entries from a CSV file, show a list, "
                                   "approve or reject changes that relax a control.")
KEY_HELP = "your API key (or FIREFLY_API_KEY): {}; recorded in the access log"


def _who(key: str) -> Principal:
    principal = services().access.authenticate(key)
    if principal is None:
        raise click.ClickException("unknown API key")
    return principal


@lists_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", envvar="FIREFLY_API_KEY", required=True, help=KEY_HELP.format("an admin's"))
@click.option("--source", default=None, help="The source of rows without one (default: the file's name).")
def import_command(file: Path, key: str, source: str | None) -> None:
    """Import FILE (CSV with the columns list, kind, value, reason; optionally source, expires).

    Bad rows are reported by line number and left out; good rows are written all at once (on a
    fatal error, none); importing the same file again changes nothing. A row that relaxes a
    control (a whitelist entry added or extended, a blacklist or watchlist entry shortened) is
    a pending change until another person approves it (`flask lists approve`)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file}: not UTF-8 text (byte {error.start}); nothing was imported") from None
    try:
        report = services().lists.import_csv(text, _who(key), source or file.name)
    except ServiceError as error:
        raise click.ClickException(f"{file}: {error.message}") from None
    for rejected in report.rejected:
        click.echo(f"{file}:{rejected['line']}: {rejected['message']}", err=True)
    for pending in report.pending:
        click.echo(f"{file}:{pending['line']}: pending change {pending['change']} ({pending['list']} "
                   f"{pending['kind']} {pending['value']}): relaxes a control, applied once another "
                   "person approves it")
    click.echo(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
               f"{len(report.rejected)} rejected, {len(report.pending)} pending")
    if report.rejected:
        raise SystemExit(1)


@lists_cli.command("show")
@click.argument("name", type=click.Choice(LISTS))
def show_command(name: str) -> None:
    """Show a list's entries (values masked)."""
    after = None
    while True:
        page = services().lists.entries(name, after, 500)
        for item in page["items"]:
            click.echo(f"{item['id']}\t{item['kind']}\t{item['value']}\t{item['reason']}\t"
                       f"{item['source']}\t{item['expires_at'] or '-'}")
        after = page["next_after"]
        if after is None:
            break


@lists_cli.command("changes")
@click.option("--state", type=click.Choice(CHANGE_STATES + ("all",)), default="pending", show_default=True)
def changes_command(state: str) -> None:
    """Show list changes that relax a control (pending ones by default)."""
    after = None
    while True:
        page = services().lists.changes(None if state == "all" else state, after, 500)
        for item in page["items"]:
            click.echo(f"{item['id']}\t{item['state']}\t{item['action']}\t{item['list']}\t{item['kind']}\t"
                       f"{item['value']}\t{item['reason']}\t{item['expires_at'] or '-'}\tby {item['maker']}"
                       + (f"\t{item['state']} by {item['checker']}" if item["checker"] else ""))
        after = page["next_after"]
        if after is None:
            break


@lists_cli.command("approve")
@click.argument("change_id", type=int)
@click.option("--key", envvar="FIREFLY_API_KEY", required=True, help=KEY_HELP.format("an approver's or admin's"))
@click.option("--reason", required=True, help="why it is approved: recorded with it")
def approve_command(change_id: int, key: str, reason: str) -> None:
    """Approve and apply a pending list change (never one's own)."""
    try:
        done = services().lists.approve(change_id, _who(key), reason)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"change {change_id} approved: entry {done['applied']['entry']} {done['applied']['result']}")


@lists_cli.command("reject")
@click.argument("change_id", type=int)
@click.option("--key", envvar="FIREFLY_API_KEY", required=True, help=KEY_HELP.format("an approver's or admin's"))
@click.option("--reason", required=True, help="why it is rejected: recorded with it")
def reject_command(change_id: int, key: str, reason: str) -> None:
    """Reject a pending list change (its maker may withdraw it): nothing is applied."""
    try:
        services().lists.reject(change_id, _who(key), reason)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"change {change_id} rejected")


@lists_cli.command("mac")
@click.option("--key", envvar="FIREFLY_API_KEY", required=True, help=KEY_HELP.format("an admin's"))
@click.option("--reason", required=True, help="why (say the lists were checked): recorded with it")
def mac_command(key: str, reason: str) -> None:
    """Give the entries made before migration 0026 (no row MAC) theirs, once, after checking the
    lists (`flask lists show`): each is recorded in the access log. Until then a whitelist entry
    without a MAC matches nothing and `flask audit verify` names it (NO_MAC)."""
    try:
        done = services().lists.mac_unmarked(_who(key), reason)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    for entry in done:
        click.echo(f"{entry['id']}\t{entry['list']}\t{entry['kind']}\t{entry['value']}")
    click.echo(f"{len(done)} entries given a row MAC")
