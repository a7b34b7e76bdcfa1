"""The benchmark floor (only with FIREFLY_FLOOR_ENDPOINT=1): what a decision costs without the engine."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from app.api.auth import require_role
from app.api.body import json_object
from app.extensions import services
from app.services.floor import store_floor_row

bp = Blueprint("floor", __name__, url_prefix="/bench/floor")


@bp.post("/<policy_name:policy_name>")
@require_role("channel")
def floor(policy_name: str) -> tuple[Response, int]:
    """Authenticate, parse the same body and insert one row of a decision's size; no engine."""
    firefly = services()
    row_id = store_floor_row(firefly.database, firefly.registry, policy_name, json_object(),
                             current_app.config["FIREFLY_FLOOR_PAD_BYTES"])
    return jsonify(id=row_id), 201
