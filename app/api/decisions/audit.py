from flask import current_app, jsonify, request
from marshmallow import ValidationError
from sqlalchemy import cast, func, select
from sqlalchemy.dialects.postgresql import JSONB

from app import decisions
from app.api.body import json_object
from app.api.decisions import bp
from app.api.schemas import ReplayRequest, SearchQuery
from app.errors import ApiError
from app.replay import replay
from app.security import require_role
from app.storage.db import get_db
from app.storage.models import Decision


@bp.get("/<decision_id>")
@require_role("compliance")
def get_decision(decision_id):
    """One stored decision with its trace."""
    return jsonify(decisions.view(_stored_or_404(decision_id), include_trace=True))


@bp.get("")
@require_role("compliance")
def search_decisions():
    """Stored decisions matching the filters, newest first, a page at a time."""
    try:
        query = SearchQuery().load(request.args.to_dict())
    except ValidationError as error:
        raise ApiError(400, "invalid_query", "the search parameters are invalid", details=error.messages)
    rows = get_db().scalars(_search(query).limit(query["limit"] + 1)).all()
    page = rows[:query["limit"]]
    return jsonify(items=[decisions.view(row, query["trace"]) for row in page],
                   next_cursor=page[-1].id if len(rows) > query["limit"] else None)


def _search(query):
    pii = current_app.extensions["firefly_pii"]
    statement = select(Decision).order_by(Decision.id.desc())
    equal = {"policy": Decision.policy_name, "version": Decision.policy_version, "hash": Decision.policy_hash,
             "outcome": Decision.outcome, "group": Decision.customer_group, "channel": Decision.channel}
    for name, column in equal.items():
        if name in query:
            statement = statement.where(column == query[name])
    if "created_from" in query:
        statement = statement.where(Decision.created_at >= _utc(query["created_from"]))
    if "created_to" in query:
        statement = statement.where(Decision.created_at < _utc(query["created_to"]))
    if "reason" in query:
        statement = statement.where(_holds(Decision.reason_codes, query["reason"]))
    if "rule" in query:
        statement = statement.where(_holds(Decision.rule_hits, query["rule"]))
    if "id_number" in query:
        statement = statement.where(Decision.resident_id_hash == pii.keyed_hash(query["id_number"]))
    if "phone" in query:
        statement = statement.where(Decision.phone_hash == pii.keyed_hash(query["phone"]))
    if "cursor" in query:
        statement = statement.where(Decision.id < query["cursor"])
    return statement


def _holds(column, value):
    """The JSON array in `column` holds `value`: jsonb containment (GIN-indexed) on PostgreSQL,
    json_each elsewhere."""
    if get_db().get_bind().dialect.name == "postgresql":
        return cast(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return select(items.c.value).where(items.c.value == value).exists()


def _utc(moment):
    from datetime import timezone
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@bp.post("/<decision_id>/replay")
@require_role("compliance")
def replay_decision(decision_id):
    """Re-decide the stored input: on the stored version (must be identical) or on another version."""
    row = _stored_or_404(decision_id)
    try:
        target = ReplayRequest().load(json_object(required=False))
    except ValidationError as error:
        raise ApiError(400, "invalid_body", "the replay request is invalid", details=error.messages)
    return jsonify(replay(row, target))


def _stored_or_404(decision_id):
    row = decisions.find(get_db(), decision_id) if len(decision_id) <= 64 else None
    if row is None:
        raise ApiError(404, "unknown_decision", f"no decision {decision_id!r}")
    return row
