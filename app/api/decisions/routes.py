import time

import redis
from sqlalchemy.exc import IntegrityError

from flask import current_app, g, request

from app import decisions, idempotency
from app.api.body import json_object
from app.api.decisions import bp
from app.api.policies.lookup import policy_or_404
from app.errors import ApiError
from app.security import require_role
from app.storage.db import get_db


@bp.post("/<policy_name>")
@require_role("channel")
def decide(policy_name):
    """Decide on an application with the named policy; 201 with the stored decision."""
    started = time.perf_counter()
    policy = policy_or_404(policy_name)
    raw = json_object()
    include_trace = _trace_requested()
    header = request.headers.get("Idempotency-Key")
    key = idempotency.scoped_key(g.principal, header) if header is not None else None
    req_hash = decisions.request_hash(policy.name, raw)
    claimed = key is not None and _claim(key, req_hash)
    try:
        stored = idempotency.lookup_stored(get_db(), key, req_hash) if key else None
        if stored is not None:
            return _answer(stored, include_trace, replayed=True)
        row, hits = _decide_and_store(policy, raw, key, req_hash)
    except IntegrityError:
        stored = idempotency.lookup_stored(get_db(), key, req_hash) if key else None
        if stored is None:
            raise
        return _answer(stored, include_trace, replayed=True)
    except BaseException:
        if claimed:
            _release(key)
        raise
    _complete(key, req_hash, row.id)
    decisions.observe(policy, row.outcome, hits, time.perf_counter() - started)
    return _answer(row, include_trace)


def _decide_and_store(policy, raw, key, req_hash):
    from app.engine import InputError
    now = decisions.utc_now()
    decision_date = decisions.business_date(now)
    try:
        prepared = decisions.Prepared(policy, raw, decision_date)
    except InputError as error:
        raise ApiError(422, "invalid_input", "the application does not match the policy's input schema",
                       details=error.errors) from None
    current_app.extensions["firefly_policies"].record(current_app.extensions["firefly_db"].sessions, policy)
    row = decisions.build_row(
        prepared, policy, now=now, decision_date=decision_date, principal=g.principal,
        request_id=request.firefly_request_id, idempotency_key=key, req_hash=req_hash)
    decisions.store(get_db(), row)
    return row, prepared.hits


def _claim(key, req_hash):
    """Claim the key in Redis: True if this request now owns it; a 409 if it is taken by another
    body or still being decided; False when there is no Redis (the database's unique key guards)."""
    store = current_app.extensions["firefly_idempotency"]
    if store is None:
        return False
    try:
        state, _decision_id = store.claim(key, req_hash)
    except redis.RedisError:  # Redis down: the database's unique key still guards
        return False
    if state == "busy":
        raise ApiError(409, "idempotency_in_progress",
                       "a request with this Idempotency-Key is being decided; retry shortly",
                       headers={"Retry-After": "1"})
    return state == "new"


def _complete(key, req_hash, decision_id):
    store = current_app.extensions["firefly_idempotency"]
    if key and store is not None:
        try:
            store.complete(key, req_hash, decision_id)
        except redis.RedisError:
            pass  # the row itself carries the key


def _release(key):
    store = current_app.extensions["firefly_idempotency"]
    if key and store is not None:
        try:
            store.release(key)
        except redis.RedisError:
            pass


def _trace_requested():
    value = request.args.get("trace", "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, "bad_request", "trace must be true or false")
    return value in ("true", "1")


def _answer(row, include_trace, replayed=False):
    response = current_app.json.response(decisions.view(row, include_trace))
    response.status_code = 201
    response.headers["Location"] = f"/v1/decisions/{row.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
