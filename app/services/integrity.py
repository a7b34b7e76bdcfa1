"""The rules served, replayed and shown are the rules approved: releases and stored policy versions
checked against what binds them, before anything reads their files.

- A **release** holds its files, their content hash (an unkeyed SHA-256 of the files and rule
  tests) and a MAC of its id and that hash under the log key (`row_mac`, made when it is stored).
  The hash alone binds nothing against someone who can write the database: they edit the files and
  compute the hash again. The MAC they cannot make without the key. A release passes when its files
  hash to its content hash and the MAC is that hash's, for that id. Maker-checker approved and
  activated a release by id (the release events, a MAC-chained log); this binds the id to the
  content that was approved.
- A **stored policy version** (policy_versions) is named by its content hash, the hash of its
  files and version string; every decision row names it, under the decision's own MAC. A version
  passes when its files still hash to its name.

What fails is never served (the registry keeps serving what it serves, or at start the last
intact version), replayed, backtested or quoted: the caller gets a `record_altered` conflict, and
`flask audit verify` names it. A release stored before MACs existed (migration 0024) has none:
it does not pass until `flask audit vouch` gives one to each release whose files still hash to its
content hash (an admin's act with a reason, recorded; run once at the upgrade, after `flask audit
verify`).
"""
from __future__ import annotations

from typing import Any

from app import metrics
from app.engine.read.documents import policy_hash
from app.privacy import PersonalData
from app.services import compiling
from app.services.access_audit import AccessAudit
from app.services.access import Principal
from app.services.errors import Conflict
from app.services.identity import may_vouch
from app.storage import chain, policy_versions
from app.storage import releases as releases_store
from app.storage.db import Database
from app.storage.models import PolicyVersion, Release

RELEASE_CONTENT = "release-content"  # what a release's MAC is made for (chain.mac_text's log)
NO_MAC = "has no MAC (stored before 2026-11-30: `flask audit vouch` gives one after `flask audit verify`)"


def release_mac(personal: PersonalData, release_id: str, content_hash: str) -> str:
    return personal.mac(chain.mac_text(RELEASE_CONTENT, release_id, content_hash))


def release_problem(release: Release, personal: PersonalData) -> str | None:
    """Why a stored release is not the one approved (None: it is)."""
    if compiling.content_hash({**release.files, **release.test_files}) != release.content_hash:
        return "its files do not hash to its content hash (edited in the database)"
    if release.row_mac is None:
        return NO_MAC
    if not personal.mac_matches(release.row_mac, chain.mac_text(RELEASE_CONTENT, release.id, release.content_hash)):
        return "its content hash is not the one stored with it (MAC does not match: edited in the database)"
    return None


def version_problem(version: PolicyVersion) -> str | None:
    """Why a stored policy version's files are not the ones its hash names (None: they are)."""
    if policy_hash(dict(version.files), version.version) != version.hash:
        return "its files do not hash to its name (edited in the database)"
    return None


def refuse_altered_release(release: Release, personal: PersonalData) -> Release:
    problem = release_problem(release, personal)
    if problem:
        metrics.observe_tampering("release")
        raise Conflict(f"release {release.id} {problem}; it is not used", code="record_altered")
    return release


def refuse_altered_version(version: PolicyVersion) -> PolicyVersion:
    problem = version_problem(version)
    if problem:
        metrics.observe_tampering("policy_version")
        raise Conflict(f"policy version {version.name} {version.version} ({version.hash[:12]}) {problem}; "
                       "it is not used", code="record_altered")
    return version


class Integrity:
    """Every release and stored policy version checked (`flask audit verify`), and releases stored
    before MACs given one (`flask audit vouch`)."""

    def __init__(self, database: Database, personal: PersonalData, audit: AccessAudit) -> None:
        self.database = database
        self.personal = personal
        self.audit = audit  # what `flask audit vouch` vouched for, recorded in the same transaction

    def verify(self) -> dict[str, Any]:
        with self.database.session() as session:
            stored_releases = releases_store.all_releases(session)
            stored_versions = policy_versions.all_versions(session)
            releases = [{"release": r.id, "problem": problem} for r in stored_releases
                        if (problem := release_problem(r, self.personal))]
            versions = [{"hash": v.hash, "name": v.name, "version": v.version, "problem": problem}
                        for v in stored_versions if (problem := version_problem(v))]
            # a version deleted leaves no row to check: the decisions that name it (under their
            # MACs) say it was there
            versions += [{"hash": h, "name": name, "version": version,
                          "problem": f"is named by {count} decisions but not stored (deleted in the database): "
                                     "they cannot be replayed"}
                         for h, name, version, count in policy_versions.named_but_missing(session)]
        return {"releases": releases, "policy_versions": versions,
                "checked": {"releases": len(stored_releases), "policy_versions": len(stored_versions)}}

    def vouch_releases(self, who: Principal, reason: str) -> list[str]:
        """Give a MAC to every release stored without one whose files still hash to its content
        hash: an admin vouches for them as they are (`flask audit vouch`), recorded in the access
        log with the reason in the same transaction. Returns their ids."""
        may_vouch(who, reason)
        sealed = []
        with self.database.session() as session:
            for release in releases_store.all_releases(session):
                if release.row_mac is None and compiling.content_hash(
                        {**release.files, **release.test_files}) == release.content_hash:
                    release.row_mac = release_mac(self.personal, release.id, release.content_hash)
                    sealed.append(release.id)
            if sealed:
                self.audit.append(session, who, "releases.vouch", {"reason": reason, "releases": sealed})
            session.commit()
        return sealed
