"""Champion/challenger comparison: the arms of a policy's experiment and the swap matrix."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError

from app.api.auth import require_role
from app.api.errors import ApiError
from app.api.schemas import ComparisonQuery
from app.extensions import services

bp = Blueprint("comparisons", __name__, url_prefix="/v1/comparisons")


@bp.get("")
@require_role("compliance")
def compare() -> Response:
    """Outcomes per arm and the swap matrix of champion and shadow over decision dates."""
    try:
        query = ComparisonQuery().load(request.args.to_dict())
    except ValidationError as error:
        raise ApiError(400, "invalid_query", "the comparison parameters are invalid",
                       details=error.messages)
    return jsonify(services().comparing.compare(query["policy"], query["from_"], query["to"]))
