"""`flask velocity ...`: the anti-fraud memory (docs/anti_fraud.md, "Redis emptied")."""
from __future__ import annotations

import datetime
import time

import click
from flask.cli import AppGroup

from app.cli.caller import who
from app.extensions import services
from app.services.errors import ServiceError

velocity_cli = AppGroup("velocity", help="The anti-fraud memory: counts, links, last-seen facts.")


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
        before = services().deciding.velocity.accept_loss(who(key), reason)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    began = ("not recorded (Redis unavailable, or in this process only)" if before is None else
             datetime.datetime.fromtimestamp(before, datetime.timezone.utc).isoformat(timespec="seconds"))
    click.echo(f"the anti-fraud memory counts as whole again (it had begun: {began})")


@velocity_cli.command("rebuild")
@click.option("--key", envvar="FIREFLY_API_KEY", required=True,
              help="your API key (or FIREFLY_API_KEY): an admin's; recorded in the access log")
@click.option("--reason", required=True, help="why the memory is rebuilt: recorded with it")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="replay the decisions made from then on (UTC; default and earliest: 366 days ago)")
def rebuild_command(key: str, reason: str, since: datetime.datetime | None) -> None:
    """Rebuild the anti-fraud memory from the stored decisions after Redis lost it (a restart
    without persistence, a flush, an eviction): every count, distinct count, last-seen fact and
    fraud link the decisions of the last 366 days (or since --since) recorded is recorded again at
    the decision's own moment, and so are the marks of the declines on review made since then
    (also of referrals made before), and the memory counts as whole from then. Safe to run while the
    service decides, and twice: nothing is counted twice."""
    def progress(done: int, total: int, facts: int) -> None:
        nonlocal shown
        if time.monotonic() - shown >= 5 or done == total:
            shown = time.monotonic()
            click.echo(f"  {done} of {total} decisions read, {facts} facts recorded")

    shown = time.monotonic()
    since = None if since is None else since.replace(tzinfo=datetime.timezone.utc)
    try:
        done = services().rebuilding.rebuild(who(key), reason, since, progress)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    skipped = sum(done.skipped.values())
    click.echo(f"replayed {done.decisions - skipped} decisions made from {_iso(done.since)} to "
               f"{_iso(done.until)}: {done.facts} facts recorded in {done.seconds:.1f}s")
    if done.owed_paid:
        click.echo(f"the owed marks of {done.owed_paid} decisions (refused by Redis) are written")
    for why, number in sorted(done.skipped.items()):
        click.echo(f"not replayed: {number} decisions ({why})")
    if done.reviews:
        click.echo(f"read {done.reviews} reviews made since then of referrals made before: the marks of "
                   f"{done.reviews_written} declines on review written")
    for why, number in sorted(done.reviews_skipped.items()):
        click.echo(f"not written: the marks of {number} declines on review of earlier referrals ({why})")
    if done.altered:
        click.echo("decisions whose stored row, or policy version, is not what the service wrote:")
        for decision_id in done.altered:
            click.echo(f"  {decision_id}")
    if done.reviews_altered:
        click.echo("closing reviews whose stored row is not what the service wrote (they mark nothing):")
        for review_id in done.reviews_altered:
            click.echo(f"  {review_id}")
    if done.altered or done.reviews_altered:
        raise click.ClickException(
            f"{len(done.altered)} stored decisions (or their policy versions) and {len(done.reviews_altered)} "
            "reviews were altered in the database and not replayed: the anti-fraud memory is not marked "
            "whole; run `flask audit verify` and account for them")
    if done.emptied_meanwhile:
        raise click.ClickException("the anti-fraud memory was emptied again while it was rebuilt: it is "
                                   "not marked whole; run the rebuild again")
    click.echo(f"the anti-fraud memory counts as whole from {_iso(done.whole_since)}")


def _iso(moment: datetime.datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")
