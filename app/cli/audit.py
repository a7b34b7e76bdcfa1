"""`flask audit ...`: seal the chained logs, verify them, purge sealed personal data after
retention, and say what each hashing key is still needed for."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from app.cli.caller import KEY_HELP, who
from app.extensions import services
from app.services.audit_log import Anchor
from app.services.errors import ServiceError

audit_cli = AppGroup("audit", help="The tamper-evident logs: seal, verify, purge personal data; the hashing keys in use.")


CHECKPOINT_HELP = ("a file of the logs' heads, MACed (FIREFLY_AUDIT_CHECKPOINT): kept where the database's "
                   "insiders cannot write, it shows a log cut off behind the head it recorded")


@audit_cli.command("seal")
@click.option("--checkpoint", "checkpoint", envvar="FIREFLY_AUDIT_CHECKPOINT", type=click.Path(dir_okay=False),
              default=None, help=CHECKPOINT_HELP + "; nothing is sealed if a log no longer reaches it")
def seal_command(checkpoint: str | None) -> None:
    """Seal every entry not sealed yet, anywhere in the logs (the workers do it every
    FIREFLY_SEAL_INTERVAL seconds within the last entries; this reads each log whole)."""
    if checkpoint is not None:
        # A log whose recorded head is gone had entries deleted with their seals: sealing what is
        # left would chain it again, and the deletion would be harder to see.
        anchors, ok = _read_checkpoint(Path(checkpoint))
        for name, anchor in anchors.items():
            found = services().audit_log.verify(name, anchor.position, anchor.position, anchor=anchor)
            for finding in found.findings:
                click.echo(f"{name}: {finding}")
            ok = ok and found.ok
        if not ok:
            click.echo("not sealing: a log no longer reaches the head its checkpoint recorded (flask audit verify)")
            sys.exit(1)
    click.echo(f"sealed {services().audit_log.seal(whole=True)} entries")


@audit_cli.command("vouch")
@click.option("--key", envvar="FIREFLY_API_KEY", required=True, help=KEY_HELP.format("an admin's"))
@click.option("--reason", required=True, help="what was checked (say: flask audit verify named nothing else)")
def vouch_command(key: str, reason: str) -> None:
    """Give a MAC to the rows stored before they had one (releases whose files still hash to their
    content hash, API keys, console accounts, anti-fraud list entries): run once after the upgrade,
    after `flask audit verify`; the rows are vouched for as they are now, each recorded in the
    access log under your key with the reason. Until then such a release is not served, such a key
    or account authenticates nobody and such a whitelist entry matches nothing."""
    principal = who(key)
    try:
        releases = services().integrity.vouch_releases(principal, reason)
        identities = services().identities.vouch(principal, reason)
        entries = services().lists.mac_unmarked(principal, reason)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    for release in releases:
        click.echo(f"release\t{release}")
    for name in identities["api_keys"]:
        click.echo(f"api key\t{name}")
    for username in identities["accounts"]:
        click.echo(f"account\t{username}")
    for entry in entries:
        click.echo(f"list entry\t{entry['id']}\t{entry['list']}\t{entry['kind']}\t{entry['value']}")
    click.echo(f"vouched for {len(releases)} releases, {len(identities['api_keys'])} API keys, "
               f"{len(identities['accounts'])} console accounts and {len(entries)} list entries")


@audit_cli.command("verify")
@click.option("--log", "log_name", default=None,
              help="one log: decisions, access, ..., or lists (the anti-fraud list entries' row MACs); default: all")
@click.option("--from", "first", type=click.IntRange(min=1), default=None, help="first entry (position, 1-based)")
@click.option("--to", "last", type=click.IntRange(min=1), default=None, help="last entry (position)")
@click.option("--checkpoint", "checkpoint", envvar="FIREFLY_AUDIT_CHECKPOINT", type=click.Path(dir_okay=False),
              default=None, help=CHECKPOINT_HELP + "; a run of whole logs moves each clean log's head on")
def verify_command(log_name: str | None, first: int | None, last: int | None, checkpoint: str | None) -> None:
    """Recompute the chain; name every entry edited, deleted, inserted or reordered (exit status 1).
    Check every anti-fraud list entry's row MAC: name the entries written or altered outside the
    service, and those without a MAC yet (exit status 1). With a checkpoint, name a log that no
    longer reaches the head recorded there, and record the heads of a clean run."""
    failed = False
    anchors: dict[str, Anchor] = {}
    readable = True
    if checkpoint is not None:
        anchors, readable = _read_checkpoint(Path(checkpoint))
        failed = not readable
    heads: dict[str, Anchor] = {}
    if log_name in (None, "lists"):
        failed = not _verify_lists() or failed
        if log_name == "lists":
            sys.exit(1 if failed else 0)
    for name in [log_name] if log_name else services().audit_log.logs():
        try:
            result = services().audit_log.verify(name, first, last, anchor=anchors.get(name))
        except ServiceError as error:
            raise click.ClickException(error.message) from None
        for finding in result.findings:
            click.echo(f"{name}: {finding}")
        state = "OK" if result.ok else f"FAILED ({len(result.findings)} findings)"
        behind = (f" ({result.behind_window} committed too late for the workers' sealing: "
                  f"`flask audit seal` seals them)" if result.behind_window else "")
        click.echo(f"{name}: {state}: {result.checked} sealed entries checked, {result.unsealed} not sealed "
                   f"yet{behind}; head {result.head or '-'} (position {result.position})")
        failed = failed or not result.ok
        if result.ok and result.anchor() is not None:  # a log with a finding keeps its recorded head
            heads[name] = result.anchor()
    if not log_name:  # the rules: releases and stored policy versions as approved (app/services/integrity.py)
        found = services().integrity.verify()
        for release in found["releases"]:
            click.echo(f"releases: {release['release']} {release['problem']}")
        for version in found["policy_versions"]:
            click.echo(f"policy versions: {version['name']} {version['version']} ({version['hash'][:12]}) "
                       f"{version['problem']}")
        bad = len(found["releases"]) + len(found["policy_versions"])
        click.echo(f"rules: {'OK' if not bad else f'FAILED ({bad} findings)'}: {found['checked']['releases']} "
                   f"releases and {found['checked']['policy_versions']} policy versions checked")
        failed = failed or bool(bad)
        people = services().identities.verify()
        for finding in people["findings"]:
            what = f"API key {finding['api_key']}" if "api_key" in finding else f"account {finding['account']}"
            click.echo(f"identities: {what} {finding['problem']}")
        state = "OK" if not people["findings"] else f"FAILED ({len(people['findings'])} findings)"
        click.echo(f"identities: {state}: {people['checked']['api_keys']} stored API keys and "
                   f"{people['checked']['accounts']} console accounts checked")
        failed = failed or bool(people["findings"])
    if checkpoint is not None:
        # Each log's head moves on only when that log verified clean, whole, against the head
        # recorded before (a log with a finding keeps its old head, so every run goes on failing);
        # a file that is not this service's is left for someone to look at.
        if not readable or first is not None or last is not None:
            click.echo(f"checkpoint: {checkpoint} left as it was (written only by a run of whole logs "
                       "against a checkpoint this service wrote)")
        else:
            _write_checkpoint(Path(checkpoint), {**anchors, **heads})
    if failed:
        sys.exit(1)


def _read_checkpoint(path: Path) -> tuple[dict[str, Anchor], bool]:
    """The heads a checkpoint file recorded, and whether it could be trusted (a missing file is
    the first run's; one that is not this service's is a finding)."""
    if not path.exists():
        click.echo(f"checkpoint: none at {path} yet; a clean run writes the first (a file that "
                   "disappears is a finding to look into)")
        return {}, True
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        anchors, written_at = services().audit_log.read_checkpoint(data)
    except (OSError, ValueError) as error:
        click.echo(f"checkpoint: FORGED: {path} cannot be read as a checkpoint ({type(error).__name__})")
        return {}, False
    except ServiceError as error:
        click.echo(f"checkpoint: FORGED: {path}: {error.message}")
        return {}, False
    click.echo(f"checkpoint: heads recorded at {written_at}: " + ", ".join(
        f"{name} position {anchor.position}" for name, anchor in sorted(anchors.items())))
    return anchors, True


def _write_checkpoint(path: Path, heads: dict[str, Anchor]) -> None:
    """Replace the file at once (a crash leaves the old one or the new one, never half of one)."""
    body = json.dumps(services().audit_log.checkpoint(heads), sort_keys=True, indent=1)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(body + "\n", encoding="utf-8")
    os.replace(partial, path)
    click.echo(f"checkpoint: heads written to {path}")


def _verify_lists() -> bool:
    result = services().lists.verify_entries()
    for entry in result["failed"]:
        click.echo(f"lists: MAC_FAILED: entry {entry['id']} ({entry['list']} {entry['kind']} {entry['value']}, "
                   f"added by {entry['added_by']}): written or altered outside the service")
    for entry in result["no_mac"]:
        click.echo(f"lists: NO_MAC: entry {entry['id']} ({entry['list']} {entry['kind']} {entry['value']}): "
                   "no MAC yet (made before migration 0026: check it, then `flask audit vouch`)")
    for entry in result["deleted"]:
        click.echo(f"lists: DELETED: entry {entry['id']} ({entry['list']} {entry['kind']} {entry['value'] or ''}): "
                   f"in force by the access log ({entry['logged']} by {entry['by']} at {entry['at']}, "
                   f"event {entry['event']}) but not stored: deleted outside the service")
    findings = len(result["failed"]) + len(result["no_mac"]) + len(result["deleted"])
    state = "OK" if not findings else (f"FAILED ({len(result['failed'])} MAC failed, {len(result['no_mac'])} "
                                       f"without a MAC yet, {len(result['deleted'])} deleted outside the service)")
    click.echo(f"lists: {state}: {result['checked']} entries checked")
    return not findings


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


@audit_cli.command("keys")
def keys_command() -> None:
    """What each hashing key (FIREFLY_HMAC_KEY, FIREFLY_HMAC_OLD_KEYS) is still needed for: the
    decisions it hashed and sealed, the MACs it made, the list entries it hashed, and until when
    the anti-fraud memory writes the old keys after a rotation. Exit status 1 if something
    stored was made by a key that is not configured."""
    report = services().keys.report()
    click.echo(f"{'key id':<10}{'configured':<16}{'decisions':>10}{'sealed':>10}{'MACs':>10}{'list entries':>14}")
    for key in report.keys:
        click.echo(f"{key.key_id:<10}{key.configured:<16}{key.decisions:>10}{key.sealed:>10}"
                   f"{key.macs:>10}{key.list_entries:>14}")
    until = report.anti_fraud_until
    if report.anti_fraud_store == "in-process":
        click.echo("anti-fraud memory: in each worker's process (no REDIS_URL): it starts afresh at every "
                   "restart, a rotation's included")
    elif until is None:
        click.echo("anti-fraud memory: the shared state cannot say when the current key first wrote "
                   "(unavailable, or no decision yet); old keys are written and read until then plus 366 days")
    elif until:
        click.echo("anti-fraud memory: old keys are written and read until " + "; ".join(
            f"{moment:%Y-%m-%d %H:%M} UTC ({what})" for what, moment in until.items()))
    else:
        click.echo("anti-fraud memory: one key configured")
    click.echo("An old key is needed while its decisions must be replayed (sealed), its MACs "
               "verified, its list entries matched, and until the anti-fraud dates above.")
    for key in report.missing:
        click.echo(f"FINDING: key {key.key_id} made {key.decisions} decisions ({key.sealed} sealed), "
                   f"{key.macs} MACs and {key.list_entries} list entries but is not configured: they "
                   f"cannot be replayed, verified or matched (FIREFLY_HMAC_OLD_KEYS)", err=True)
    if report.missing:
        sys.exit(1)
