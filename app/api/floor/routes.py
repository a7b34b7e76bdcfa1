from flask import current_app, jsonify

from app import decisions
from app.api.body import json_object
from app.api.floor import bp
from app.api.policies.lookup import policy_or_404
from app.security import require_role
from app.storage.db import get_db
from app.storage.models import FloorRow


@bp.post("/<policy_name>")
@require_role("channel")
def floor(policy_name):
    """Authenticate, parse the same body and insert one row of a decision's size; no engine."""
    policy_or_404(policy_name)
    raw = json_object()
    now = decisions.utc_now()
    pad = "x" * current_app.config["FIREFLY_FLOOR_PAD_BYTES"]
    row = FloorRow(id=decisions.new_decision_id(now), created_at=now, body=raw, trace={"pad": pad})
    decisions.store(get_db(), row)
    return jsonify(id=row.id), 201
