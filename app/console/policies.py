"""Policy pages: the releases (state, who submitted and approved them), what is served, every stored
version with its files, the diff of two versions."""
from __future__ import annotations

import re
from typing import Any

from flask import abort, render_template, request

from app.console.access import READ_BACKTESTS, READ_POLICIES, current, signed_in
from app.console.audit import viewed
from app.console.blueprint import bp
from app.extensions import services
from app.services.errors import Conflict, NotFound, ServiceError
from app.services.releases import APPROVERS, SUBMITTERS
from app.services.versions import file_diffs

HASH = re.compile(r"^[0-9a-f]{64}$")
RELEASE_ID = re.compile(r"^[0-9a-zA-Z_-]{1,64}$")


@bp.get("/policies")
@signed_in(*READ_POLICIES)
def policies() -> str:
    """The policies served now and every stored version; a form to compare two, and for policy
    staff the form that submits a release."""
    return policies_page()


def policies_page(submit_form: Any = None, refused: ServiceError | None = None) -> str:
    served = services().registry.current()
    viewed("policies")
    return render_template("console/policies.html", served=sorted(served.policies.values(), key=lambda p: p.name),
                           loaded_at=served.loaded_at, versions=services().versions.listed(),
                           releases=services().releases.list(), submit_form=submit_form, refused=refused,
                           may_submit=current().role in SUBMITTERS)


@bp.get("/releases/<release_id>")
@signed_in(*READ_POLICIES)
def release(release_id: str) -> str:
    """One release: its state, who submitted and approved it and why, its checks, its policies, and
    what it changes against the active release; for an approver, the form that approves or rejects it."""
    if not RELEASE_ID.match(release_id):
        abort(404)
    against = request.args.get("against") or None
    if against is not None and not RELEASE_ID.match(against):
        abort(400)
    return release_page(release_id, against)


def release_page(release_id: str, against: str | None = None, decide_form: Any = None,
                 refused: ServiceError | None = None) -> str:
    releases = services().releases
    try:
        shown = releases.get(release_id)
        files = releases.files(release_id)
        others = [r for r in releases.list() if r["id"] != shown["id"]]
        against_files = releases.files(against) if against else None
    except NotFound:
        abort(404)
    except Conflict:  # files edited in the database since they were stored: not shown as the release's
        abort(409)
    try:  # against the release named, else the active one (none to compare with: no changes shown)
        changes = releases.diff(release_id, against) if (against or shown["state"] != "active") else None
    except ServiceError:
        changes = None
    diffs = (file_diffs(against_files, files, against[:12], release_id[:12]) if against_files is not None
             else None)
    viewed("release", release_id=release_id, against=against)
    tried = services().backtesting.of_versions([p["hash"] for p in shown["policies"].values()])
    return render_template("console/release.html", release=shown, changes=changes, files=sorted(files.items()),
                           others=others, against=against, diffs=diffs, backtests=tried,
                           coverage=next((job for job in tried if job["coverage"]), None),
                           may_read_backtests=current().role in READ_BACKTESTS, decide_form=decide_form,
                           refused=refused, may_decide=current().role in APPROVERS and shown["state"] == "submitted")


@bp.get("/policies/<policy_hash>")
@signed_in(*READ_POLICIES)
def policy_version(policy_hash: str) -> str:
    """One stored version: its files as they were served."""
    if not HASH.match(policy_hash):
        abort(404)
    try:
        info, files = services().versions.files(policy_hash)
    except Conflict:  # files edited in the database: not shown as the version's
        abort(409)
    except ServiceError:
        abort(404)
    viewed("policy_version", policy_hash=policy_hash)
    return render_template("console/policy_version.html", info=info, files=sorted(files.items()))


@bp.get("/policies/diff")
@signed_in(*READ_POLICIES)
def policy_diff() -> str:
    """What changed between two stored versions, file by file."""
    old, new = request.args.get("old", ""), request.args.get("new", "")
    if not (HASH.match(old) and HASH.match(new)):
        abort(400)
    try:
        changes = services().versions.diff(old, new)
    except Conflict:
        abort(409)
    except ServiceError:
        abort(404)
    viewed("policy_diff", old=old, new=new)
    return render_template("console/policy_diff.html", old=old, new=new, changes=changes)
