"""POST /v1/decisions/<policy>: decide on an application; 201 with the stored decision."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from app.api.auth import caller, require_role
from app.api.body import json_object
from app.api.errors import ApiError
from app.api.requests import only_query, request_id
from app.api.schemas import TraceLevel
from app.extensions import services
from app.services.deciding import DecisionRequest

bp = Blueprint("decisions", __name__, url_prefix="/v1/decisions")


@bp.post("/<policy_name:policy_name>")
@require_role("channel")
def decide(policy_name: str) -> Response:
    """Decide on an application with the named policy; 201 with the stored decision."""
    decided = services().deciding.decide(DecisionRequest(
        policy_name=policy_name, body=json_object(), caller=caller(), request_id=request_id(),
        idempotency_key=request.headers.get("Idempotency-Key"), trace=trace_level()))
    response = current_app.json.response(decided.answer)
    response.status_code = 201
    response.headers["Location"] = f"/v1/decisions/{decided.decision_id}"
    if decided.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def trace_level() -> str:
    """`?trace=full|hits|none` (true: full, false: none); none unless asked."""
    if not request.query_string:  # what a channel sends: no query, no trace (nothing to read)
        return TraceLevel.LEVELS["none"]
    only_query("trace")
    try:
        return TraceLevel().deserialize(request.args.get("trace", "none"))
    except ValidationError as error:
        raise ApiError(400, "invalid_query", "invalid query parameters",
                       details={"trace": error.messages}) from None
