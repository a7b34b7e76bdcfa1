"""`flask lists ...`: anti-fraud lists (blacklist, watchlist, whitelist) kept by keyed hash."""
from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask.cli import AppGroup

from app.extensions import services
from app.services.lists import LISTS
from app.services.errors import ServiceError

lists_cli = AppGroup("lists", help="Anti-fraud lists: import entries from a CSV file, show a list.")


@lists_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="The source of rows without one (default: the file's name).")
@click.option("--by", "who", default=None, help="Who imports (default: the operating-system user).")
def import_command(file: Path, source: str | None, who: str | None) -> None:
    """Import FILE (CSV with the columns list, kind, value, reason; optionally source, expires).

    Bad rows are reported by line number and left out; good rows are written all at once (on a
    fatal error, none); importing the same file again changes nothing."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file}: not UTF-8 text (byte {error.start}); nothing was imported") from None
    try:
        report = services().lists.import_csv(text, who or getpass.getuser(), source or file.name)
    except ServiceError as error:
        raise click.ClickException(f"{file}: {error.message}") from None
    for rejected in report.rejected:
        click.echo(f"{file}:{rejected['line']}: {rejected['message']}", err=True)
    click.echo(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
               f"{len(report.rejected)} rejected")
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
