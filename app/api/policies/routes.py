import os
import signal

from flask import current_app, jsonify

from app.api.policies import bp
from app.errors import ApiError
from app.security import require_role


def describe(policy_set):
    return {"loaded_at": policy_set.loaded_at.isoformat().replace("+00:00", "Z"),
            "policies": [{"name": p.name, "version": str(p.version), "hash": p.hash, "engine": p.engine}
                         for _, p in sorted(policy_set.policies.items())]}


@bp.get("")
@require_role("channel", "compliance", "admin")
def list_policies():
    """The policies this process serves, with their versions and content hashes."""
    return jsonify(describe(current_app.extensions["firefly_policies"].current()))


@bp.post("/reload")
@require_role("admin")
def reload_policies():
    """Load, validate and test the policy folder; swap it in only if everything passes."""
    registry = current_app.extensions["firefly_policies"]
    result = registry.reload()
    if not result.ok:
        raise ApiError(422, "policy_rejected", "the policy folder was rejected; the previous policies "
                       "keep serving", details=result.to_dict())
    master = current_app.config.get("FIREFLY_RELOAD_NOTIFY_PID")
    if master:  # under gunicorn: the master asks every worker to reload too
        os.kill(master, signal.SIGHUP)
    body = describe(result.policy_set)
    body["diagnostics"] = result.diagnostics
    return jsonify(body)
