"""Replay: the stored input (personal data unsealed) decided again on the stored policy files, or on
another version, and compared field by field with what was sent at the time."""
import json
import threading
from collections import OrderedDict

from flask import current_app
from sqlalchemy import select

from app import decisions, pii
from app.errors import ApiError
from app.storage.db import get_db
from app.storage.models import PolicyVersion

_CACHE_SIZE = 16
_cache = OrderedDict()
_cache_lock = threading.Lock()


def policy_from_store(version_row, engine=None):
    """A Policy rebuilt from the stored files of a version, on the given backend (cached)."""
    from app.engine import load_policy_files
    key = (version_row.hash, engine)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    policy = load_policy_files(version_row.name, dict(version_row.files), engine)
    with _cache_lock:
        _cache[key] = policy
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return policy


def target_version(row, target):
    """The policy_versions row to replay on: the stored one, or the one named by hash or version."""
    session = get_db()
    if "hash" in target:
        _record_served(row.policy_name)
        prefix = PolicyVersion.hash.startswith(target["hash"], autoescape=True)
        found = session.scalars(select(PolicyVersion).where(prefix)).all()
    elif "version" in target:
        _record_served(row.policy_name)
        found = session.scalars(select(PolicyVersion).where(
            PolicyVersion.name == row.policy_name, PolicyVersion.version == target["version"])).all()
    else:
        found = session.scalars(select(PolicyVersion).where(PolicyVersion.hash == row.policy_hash)).all()
    found = [v for v in found if v.name == row.policy_name]
    if not found:
        raise ApiError(404, "unknown_policy_version", "no stored version of this policy matches " + str(target))
    if len(found) > 1:
        raise ApiError(409, "ambiguous_policy_version", "several versions match; name one by its hash",
                       details=[v.hash for v in found])
    return found[0]


def _record_served(name):
    """The version served now may not have decided anything yet: make it replayable too."""
    registry = current_app.extensions["firefly_policies"]
    policy = registry.current().policies.get(name)
    if policy is not None:
        registry.record(current_app.extensions["firefly_db"].sessions, policy)


def replay(row, target):
    version = target_version(row, target)
    # The stored version replays on the backend that decided; another version on today's setting.
    engine = row.engine if version.hash == row.policy_hash else current_app.config.get("FIREFLY_ENGINE")
    try:
        policy = policy_from_store(version, engine)
    except Exception as error:
        raise ApiError(409, "policy_version_unloadable", f"the stored files of {version.hash[:12]} no longer "
                       f"load with this engine: {type(error).__name__}: {error}") from None
    clear = current_app.extensions["firefly_pii"].unseal(row.pii_sealed) if row.pii_sealed else {}
    raw = pii.restore(row.input_masked, clear)
    from app.engine import InputError
    try:
        prepared = decisions.Prepared(policy, raw, row.decision_date)
    except InputError as error:
        raise ApiError(409, "input_does_not_fit", f"the stored input does not fit version "
                       f"{version.version} ({version.hash[:12]})", details=error.errors) from None
    differences = diff(row.result, prepared.result)
    trace_identical = row.trace == json.loads(prepared.trace_text)
    ref = {"name": policy.name, "version": str(policy.version), "hash": policy.hash, "engine": policy.engine}
    return {"decision_id": row.id,
            "stored_policy": {"name": row.policy_name, "version": row.policy_version,
                              "hash": row.policy_hash, "engine": row.engine},
            "replayed_policy": ref,
            "identical": not differences and trace_identical,
            "trace_identical": trace_identical,
            "differences": differences,
            "replayed": prepared.result}


def diff(stored, replayed, path=""):
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
