"""A credit line's decisions: the application that granted it, its drawdowns and its reviews."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.api.auth import caller, require_role
from app.api.requests import only_query, request_id
from app.extensions import services

bp = Blueprint("lines", __name__, url_prefix="/v1/lines")


@bp.get("/<line_id:line_id>/decisions")
@require_role("compliance")
def line_decisions(line_id: str) -> Response:
    """A line's history in order (found by the keyed hash of its id; the id is masked in the logs)."""
    only_query()
    return jsonify(services().records.line_history(line_id, caller(), request_id()))
