"""Policy versions in the database: every version that was served, with the text of all its files,
so that any decision can be replayed on exactly the rules that made it."""
from __future__ import annotations

import logging
import threading

from app import metrics
from app.engine import Policy
from app.services.integrity import refuse_altered_version, version_problem
from app.storage import policy_versions
from app.storage.db import Database
from app.storage.models import PolicyVersion


log = logging.getLogger("firefly.policies")


class PolicyStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._recorded: set[str] = set()  # hashes this process knows to be stored
        self._lock = threading.Lock()

    def record(self, policy: Policy) -> None:
        """Make sure the version is in policy_versions (one database round trip per process and
        version); raises the database's error when it cannot be written."""
        if policy.hash in self._recorded:
            return
        with self.database.session() as session:
            policy_versions.add(session, PolicyVersion(
                hash=policy.hash, name=policy.name, version=str(policy.version), engine=policy.engine,
                files=dict(policy.files)))
        with self._lock:
            self._recorded.add(policy.hash)

    def newest_per_name(self) -> dict[str, PolicyVersion]:
        """The version of each policy recorded last whose files still hash to its name (an edited
        one is passed over, logged: integrity.version_problem)."""
        newest: dict[str, PolicyVersion] = {}
        with self.database.session() as session:
            for row in policy_versions.all_versions(session):  # the one recorded last first
                if row.name in newest:
                    continue
                problem = version_problem(row)
                if problem:
                    metrics.observe_tampering("policy_version")
                    log.critical("a stored policy version is not the one recorded; passed over", extra={
                        "event": "policy_version_altered", "hash": row.hash, "problem": problem})
                    continue
                newest[row.name] = row
        return newest

    def matching(self, name: str, *, policy_hash: str | None = None, hash_prefix: str | None = None,
                 version: str | None = None) -> list[PolicyVersion]:
        """The stored versions asked for, to replay or backtest on: a Conflict (`record_altered`)
        if one of them is not what its hash names."""
        with self.database.session() as session:
            found = policy_versions.matching(session, name, policy_hash=policy_hash,
                                             hash_prefix=hash_prefix, version=version)
        return [refuse_altered_version(row) for row in found]
