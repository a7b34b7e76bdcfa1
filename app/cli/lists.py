"""`flask lists ...`: anti-fraud lists (blacklist, watchlist, whitelist) kept by keyed hash."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli.caller import KEY_HELP, who
from app.extensions import services
from app.services.lists import CHANGE_STATES, LISTS
from app.services.errors import ServiceError

def shown(text: str | None) -> str:
    """Stored text on one line of the terminal: a control character (a tab or newline that would
    forge a column or a line, an escape sequence the terminal would run) is shown escaped, as \\t,
    \\n or \\x1b. (New reasons cannot hold one; one stored before the check, or written into the
    database, still shows this way.)"""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text or "")


lists_cli = AppGroup("lists", help="Anti-fraud lists: import entries from a CSV file, show a list, "
                                   "approve or reject changes that relax a control.")


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
        report = services().lists.import_csv(text, who(key), source or file.name)
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
            click.echo(f"{item['id']}\t{item['kind']}\t{item['value']}\t{shown(item['reason'])}\t"
                       f"{shown(item['source'])}\t{item['expires_at'] or '-'}")
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
                       f"{item['value']}\t{shown(item['reason'])}\t{item['expires_at'] or '-'}\tby {shown(item['maker'])}"
                       + (f"\t{item['state']} by {shown(item['checker'])}" if item["checker"] else ""))
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
        done = services().lists.approve(change_id, who(key), reason)
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
        services().lists.reject(change_id, who(key), reason)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"change {change_id} rejected")
