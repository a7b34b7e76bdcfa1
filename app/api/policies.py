"""The policies this process serves, and reloading them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from app.api.auth import require_role
from app.api.requests import only_query
from app.extensions import services
from app.services.registry import PolicySet

bp = Blueprint("policies", __name__, url_prefix="/v1/policies")


def describe(policy_set: PolicySet) -> dict[str, Any]:
    return {"loaded_at": policy_set.loaded_at.isoformat().replace("+00:00", "Z"),
            "policies": [{"name": p.name, "version": str(p.version), "hash": p.hash, "engine": p.engine}
                         for _, p in sorted(policy_set.policies.items())]}


@bp.get("")
@require_role("channel", "compliance", "admin")
def list_policies() -> Response:
    """The policies this process serves, with their versions and content hashes."""
    only_query()
    return jsonify(describe(services().registry.current()))


@bp.post("/reload")
@require_role("admin")
def reload_policies() -> Response:
    """Load, validate and test the policy folder; swap it in only if everything passes."""
    only_query()
    result = services().registry.replace()
    body = describe(result.policy_set)
    body["diagnostics"] = result.diagnostics
    return jsonify(body)
