"""Replay: a stored decision's input (personal data unsealed) decided again on the stored policy
files, or on another version, and compared field by field with what was sent at the time."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app import metrics, privacy
from app.engine import InputError, Policy
from app.privacy import PersonalData
from app.services import compiling, records
from app.services.access import Principal
from app.services.errors import Conflict, NotFound
from app.services.policy_store import PolicyStore
from app.services.records import Records
from app.services.velocity import SharedInput
from app.services.registry import PolicyRegistry
from app.storage.models import Decision as DecisionRow
from app.storage.models import PolicyVersion


@dataclass(frozen=True)
class Target:
    """The version to replay on: the one that decided (neither given), or another by hash prefix
    or version string."""

    hash: str | None = None
    version: str | None = None


class Replaying:
    def __init__(self, records_: Records, registry: PolicyRegistry, store: PolicyStore,
                 personal: PersonalData, engine: str | None) -> None:
        self.records = records_
        self.registry = registry
        self.store = store
        self.personal = personal
        self.engine = engine  # the service's FIREFLY_ENGINE, for replays on another version

    def replay(self, decision_id: str, target: Target, who: Principal | None = None,
               request_id: str | None = None) -> dict[str, Any]:
        row = self.records.row(decision_id)
        # Recorded before the personal data is unsealed: an attempt counts as access.
        self.records.audit.record(who, "decision.replay", [row.id],
                                  {"hash": target.hash, "version": target.version}, request_id)
        # A row whose MAC this service can check and that fails it was altered: said so before
        # the sealing key it names is looked up (an insider's key id would send the operator
        # looking for a key that never existed).
        mac_key_known = self.personal.knows((row.row_mac or "").split(":", 1)[0])
        if mac_key_known and not records.intact(row, self.personal):
            metrics.observe_tampering("decision")
            raise Conflict(f"the stored decision {row.id} fails its integrity check (edited since it was "
                           "stored: see `flask audit verify`); it is not replayed", code="record_altered")
        if not self.personal.knows(row.key_id):
            raise Conflict(f"the decision {row.id} was sealed with the key {row.key_id}, which is not "
                           "configured (FIREFLY_HMAC_OLD_KEYS)", code="sealing_key_missing")
        if not records.intact(row, self.personal):
            metrics.observe_tampering("decision")
            raise Conflict(f"the stored decision {row.id} fails its integrity check (edited since it was "
                           "stored: see `flask audit verify`); it is not replayed", code="record_altered")
        version = self._version(row, target)
        # The stored version replays on the backend that decided; another version on today's setting.
        engine = row.engine if version.hash == row.policy_hash else self.engine
        try:
            policy = compiling.load_version(version.name, dict(version.files), engine)
        except Exception as error:  # noqa: BLE001 - stored files this engine can no longer load
            raise Conflict(f"the stored files of {version.hash[:12]} no longer load with this engine: "
                           f"{type(error).__name__}: {error}", code="policy_version_unloadable") from None
        if row.pii_digest is not None and row.pii_sealed is None:
            raise Conflict(f"the personal data of {row.id} was removed (a retention purge; `flask audit "
                           "verify` names a removal no recorded purge covers); it cannot be replayed",
                           code="personal_data_purged")
        try:
            clear = self.personal.unseal(row.pii_sealed) if row.pii_sealed else {}
        except KeyError as error:
            raise Conflict(f"the personal data of {row.id} was sealed with a key that is not configured: "
                           f"{error.args[0]}", code="sealing_key_missing") from None
        try:
            # the shared values the decision used (stored in its trace), never today's counters
            made = records.make(policy, privacy.restore(row.input_masked, clear), row.decision_date,
                                row.created_at, shared=SharedInput.from_trace(records.loaded(row.trace)))
        except InputError as error:
            raise Conflict(f"the stored input does not fit version {version.version} ({version.hash[:12]})",
                           code="input_does_not_fit", details=error.errors) from None
        stored_result = records.loaded(row.result)
        differences = diff(stored_result, made.result)
        trace_identical = records.loaded(row.trace) == json.loads(made.trace_text)
        return {"decision_id": row.id,
                "stored_policy": {"name": row.policy_name, "version": row.policy_version,
                                  "hash": row.policy_hash, "engine": row.engine},
                "replayed_policy": _ref(policy),
                "identical": not differences and trace_identical,
                "trace_identical": trace_identical,
                "differences": differences,
                "replayed": made.result}

    def _version(self, row: DecisionRow, target: Target) -> PolicyVersion:
        """The policy_versions row to replay on."""
        if target.hash is None and target.version is None:
            found = self.store.matching(row.policy_name, policy_hash=row.policy_hash)
        else:
            self._record_served(row.policy_name)
            found = self.store.matching(row.policy_name, hash_prefix=target.hash, version=target.version)
        if not found:
            asked = {k: v for k, v in (("hash", target.hash), ("version", target.version)) if v}
            raise NotFound("no stored version of this policy matches " + str(asked),
                           code="unknown_policy_version")
        if len(found) > 1:
            raise Conflict("several versions match; name one by its hash", code="ambiguous_policy_version",
                           details=[v.hash for v in found])
        return found[0]

    def _record_served(self, name: str) -> None:
        """The version served now may not have decided anything yet: make it replayable too."""
        policy = self.registry.current().policies.get(name)
        if policy is not None:
            self.store.record(policy)


def _ref(policy: Policy) -> dict[str, str]:
    return {"name": policy.name, "version": str(policy.version), "hash": policy.hash,
            "engine": policy.engine}


def diff(stored: Any, replayed: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs between two JSON values, as {path, stored, replayed}."""
    if isinstance(stored, dict) and isinstance(replayed, dict):
        out = []
        for key in list(stored) + [k for k in replayed if k not in stored]:
            out += diff(stored.get(key), replayed.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(stored, list) and isinstance(replayed, list) and len(stored) == len(replayed):
        out = []
        for i, (a, b) in enumerate(zip(stored, replayed)):
            out += diff(a, b, f"{path}[{i}]")
        return out
    return [] if stored == replayed else [{"path": path, "stored": stored, "replayed": replayed}]
