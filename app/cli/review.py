"""`flask review run`: the periodic review of a whole portfolio (app/services/periodic_review.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.extensions import services
from app.services.batch import default_workers
from app.services.errors import ServiceError
from app.services.periodic_review import REVIEW_POLICY, ReviewRequest

review_cli = click.Group("review", help="Post-loan review (贷后检视) of a portfolio.")


@review_cli.command("run")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The portfolio: one account a row (CSV, JSON Lines or Parquet; columns named by the "
                   "review policy's input paths, e.g. account.limit).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for actions.csv (for the core system) and summary.json.")
@click.option("--policy", "policy_name", default=REVIEW_POLICY, show_default=True,
              help="The review policy (the served one: the active release).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes deciding (default: every core); this process stores.")
@click.option("--dask", "dask_address", default=None, help="Decide on the Dask scheduler at this address.")
@with_appcontext
def run(input_path: str, out_dir: str, policy_name: str, workers: int | None, dask_address: str | None) -> None:
    """Review every account of the file, store every review decision, write the actions and the summary."""
    from tqdm import tqdm  # the progress bar: accounts/s and the time left

    reviewing = services().periodic_review
    request = ReviewRequest(input=Path(input_path), out=Path(out_dir), policy=policy_name,
                            workers=workers or default_workers(), dask=dask_address)
    with tqdm(total=reviewing.rows_in(request.input), unit=" accounts", dynamic_ncols=True, disable=None,
              file=sys.stderr) as bar:
        try:
            result = reviewing.run(request, progress=bar.update)
        except ServiceError as error:
            raise click.ClickException(str(error)) from None
    summary = result.summary
    actions = ", ".join(f"{name} {count}" for name, count in summary["actions"].items())
    click.echo(f"{summary['rows']} accounts: {summary['stored']} reviewed and stored, {summary['invalid']} invalid")
    click.echo(f"actions: {actions}")
    click.echo(f"limit reduced: {summary['limit_reduced']['accounts']} accounts, "
               f"{summary['limit_reduced']['total']} yuan in total")
    for path in result.written:
        click.echo(f"wrote {path}")
