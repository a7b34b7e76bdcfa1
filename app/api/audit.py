"""GET /v1/audit: the access log, for the approver and compliance roles."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError

from app.api.auth import caller, require_role
from app.api.errors import ApiError
from app.api.requests import request_id
from app.api.schemas import AuditQuery
from app.extensions import services
from app.services.access_audit import AuditSearch

bp = Blueprint("audit", __name__, url_prefix="/v1/audit")


@bp.get("")
@require_role("approver", "compliance")
def search_access_events() -> Response:
    """Access events matching the filters, newest first, a page at a time."""
    try:
        query = AuditQuery().load(request.args.to_dict())
    except ValidationError as error:
        raise ApiError(400, "invalid_query", "the audit query parameters are invalid", details=error.messages)
    items, cursor = services().access_audit.search(AuditSearch(**query), caller(), request_id())
    return jsonify(items=items, next_cursor=cursor)
