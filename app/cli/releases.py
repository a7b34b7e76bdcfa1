"""`flask policy submit|approve|reject|activate|rollback|releases|diff`: policy releases from the
command line, under the identity of an API key (--key or FIREFLY_API_KEY), so maker-checker holds
at the terminal as in the API."""
from __future__ import annotations

import json
from typing import Any, Callable

import click
from flask.cli import with_appcontext

from app.cli.policy import _resolve, policy_cli
from app.cli.caller import who
from app.extensions import services
from app.services.errors import ServiceError
from app.services.releases import ReleaseFiles

key_option = click.option("--key", envvar="FIREFLY_API_KEY", required=True,
                          help="your API key (or FIREFLY_API_KEY): who submits, approves or activates")
reason_option = click.option("--reason", required=True, help="why: recorded with the step")


def _run(step: Callable[[], Any]) -> Any:
    try:
        return step()
    except ServiceError as error:
        detail = f"\n{json.dumps(error.details, ensure_ascii=False, indent=2)}" if error.details else ""
        raise click.ClickException(f"{error.message}{detail}") from None


def _show(release: dict[str, Any]) -> None:
    click.echo(f"release {release['id']} ({release['content_hash'][:12]}): {release['state']}"
               f"{' (bootstrap)' if release['bootstrap'] else ''}; checks "
               f"{'passed' if release['checks_passed'] else 'FAILED'}")


@policy_cli.command("submit")
@click.argument("path", required=False)
@key_option
@reason_option
@with_appcontext
def submit(path: str | None, key: str, reason: str) -> None:
    """Submit the policy folder at PATH as a release: checked and rule-tested, the report stored."""
    root, _ = _resolve(path)
    release = _run(lambda: services().releases.submit(ReleaseFiles.from_folder(root), who(key), reason))
    _show(release)
    if not release["checks_passed"]:
        click.echo(json.dumps(release["report"], ensure_ascii=False, indent=2))
        raise SystemExit(1)


def _step(name: str, help_text: str) -> None:
    @policy_cli.command(name, help=help_text)
    @click.argument("release")
    @key_option
    @reason_option
    @with_appcontext
    def command(release: str, key: str, reason: str) -> None:
        method = getattr(services().releases, name)
        _show(_run(lambda: method(release, who(key), reason)))


_step("approve", "Approve RELEASE (submitted, checks passed, not your own).")
_step("reject", "Reject RELEASE (submitted).")
_step("activate", "Make RELEASE (approved) the one every worker serves.")


@policy_cli.command("rollback")
@key_option
@reason_option
@with_appcontext
def rollback(key: str, reason: str) -> None:
    """Activate again the release that was active before the current one."""
    _show(_run(lambda: services().releases.rollback(who(key), reason)))


@policy_cli.command("releases")
@with_appcontext
def list_releases() -> None:
    """Every release with its state."""
    for release in _run(services().releases.list):
        _show(release)


@policy_cli.command("diff")
@click.argument("release")
@click.argument("against", required=False)
@with_appcontext
def diff(release: str, against: str | None) -> None:
    """Files and rule ids added, removed and changed from AGAINST (default: the active release) to RELEASE."""
    changes = _run(lambda: services().releases.diff(release, against))
    click.echo(json.dumps(changes, ensure_ascii=False, indent=2))
