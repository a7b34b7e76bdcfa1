"""Compliance: read a stored decision, search them, replay one."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError

from app.api.auth import caller, require_role
from app.api.body import json_object
from app.api.errors import ApiError
from app.api.requests import only_query, request_id
from app.api.schemas import ReplayRequest, SearchQuery
from app.extensions import services
from app.services.records import Search
from app.services.replay import Target

bp = Blueprint("compliance", __name__, url_prefix="/v1/decisions")


@bp.get("/<decision_id:decision_id>")
@require_role("compliance")
def get_decision(decision_id: str) -> Response:
    """One stored decision with its trace."""
    only_query()
    return jsonify(services().records.get(decision_id, caller(), request_id()))


@bp.get("")
@require_role("compliance")
def search_decisions() -> Response:
    """Stored decisions matching the filters, newest first, a page at a time."""
    try:
        query = SearchQuery().load(request.args.to_dict())
    except ValidationError as error:
        raise ApiError(400, "invalid_query", "the search parameters are invalid", details=error.messages)
    page = services().records.search(Search(**query), caller(), request_id())
    return jsonify(items=page.items, next_cursor=page.next_cursor)


@bp.post("/<decision_id:decision_id>/replay")
@require_role("compliance")
def replay_decision(decision_id: str) -> Response:
    """Re-decide the stored input: on the stored version (must be identical) or on another version."""
    only_query()
    body = json_object(required=False)
    try:
        target = ReplayRequest().load(body)
    except ValidationError as error:
        raise ApiError(400, "invalid_body", "the replay request is invalid", details=error.messages)
    return jsonify(services().replaying.replay(decision_id, Target(**target), caller(), request_id()))
