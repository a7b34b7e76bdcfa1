"""Deciding and storing: one request body in, one stored decision out (or a clear error).

The decision row is committed before the answer is built from it, so what the caller sees is what
compliance will read back. Rows are only ever inserted.
"""
import hashlib
import json
import logging
import os
import threading
import time
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from app import metrics, pii
from app.errors import ApiError
from app.storage.models import Decision

log = logging.getLogger("firefly.decisions")
HASHED_KINDS = ("resident_id", "phone")
DURABLE_LOCK = threading.Lock()
CHINA = timezone(timedelta(hours=8), "CST")  # China has one time zone and no daylight saving


def new_decision_id(now):
    """A 32-hex id that sorts by creation time (milliseconds), then at random."""
    return f"{int(now.timestamp() * 1000):012x}{os.urandom(10).hex()}"


def request_hash(policy_name, raw):
    """The fingerprint of a request for Idempotency-Key: the policy and the body's canonical JSON."""
    text = json.dumps([policy_name, raw], sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RawJSON(str):
    """JSON text already serialised: stored as it is (see json_serializer in storage/db.py)."""


def to_json_text(obj, clear, fields):
    """The engine's canonical JSON of obj with every clear personal value masked."""
    from app.engine import canonical_json
    return RawJSON(pii.scrub_json(canonical_json(obj), clear, fields))


class Prepared:
    """A decision made but not yet stored: everything the row needs."""

    def __init__(self, policy, raw, decision_date):
        fields = policy.pii_fields()
        clear = pii.extract(raw, fields)
        typed = policy.parse_input(with_decision_date(policy, raw, decision_date))
        started = time.perf_counter()
        if policy.engine == "durable":  # durable_rules keeps process-wide state: one decision at a time
            with DURABLE_LOCK:
                decision = policy.decide(typed)
        else:
            decision = policy.decide(typed)
        self.engine_seconds = time.perf_counter() - started
        self.result_text = to_json_text(decision.to_dict(), clear, fields)
        self.trace_text = to_json_text(decision.trace.to_dict(), clear, fields)
        self.result = json.loads(self.result_text)
        self.input_masked = pii.masked_copy(raw, clear, fields)
        self.clear, self.fields = clear, fields
        self.hits = list(dict.fromkeys(decision.hits))
        self.reason_codes = [reason.code for reason in decision.reasons]
        self.decision = decision


def with_decision_date(policy, raw, decision_date):
    """The engine never reads the clock: the service sets the policy's `decision_date` input to the
    date of the request in China (a date sent by the caller is kept in the stored input, not used)."""
    name = decision_date_field(policy)
    if name is None:
        return raw
    return {**raw, name: decision_date.isoformat()}


def decision_date_field(policy):
    fields = policy.input_schema.fields if hasattr(policy, "input_schema") else {}
    for candidate in ("decision_date", "application_date", "as_of"):
        if candidate in fields:
            return candidate
    return None


def build_row(prepared, policy, *, now, decision_date, principal, request_id, idempotency_key, req_hash):
    """The decision row, ready to insert."""
    store = current_app.extensions["firefly_pii"]
    hashes = {}
    for path, value in prepared.clear.items():
        kind = prepared.fields[path]
        if kind in HASHED_KINDS and kind not in hashes:
            hashes[kind] = store.keyed_hash(value)
    row = Decision(
        id=new_decision_id(now), created_at=now, decision_date=decision_date,
        policy_name=policy.name, policy_version=str(policy.version), policy_hash=policy.hash,
        engine=policy.engine, outcome=prepared.decision.outcome, limit=_int_or_none(prepared.decision.limit),
        customer_group=prepared.decision.customer_group, score=prepared.decision.score,
        score_band=prepared.decision.score_band, reason_codes=prepared.reason_codes, rule_hits=prepared.hits,
        result=prepared.result_text, trace=prepared.trace_text, input_masked=prepared.input_masked,
        pii_sealed=store.seal(prepared.clear) if prepared.clear else None,
        resident_id_hash=hashes.get("resident_id"), phone_hash=hashes.get("phone"),
        idempotency_key=idempotency_key, request_hash=req_hash, request_id=request_id,
        channel=principal.name)
    return row


def _int_or_none(value):
    return None if value is None else int(value)


def store(session, row):
    """Insert one row (without the unit of work) and commit; a database that cannot take it is a
    503 and no decision."""
    table = type(row).__table__
    values = {column.key: getattr(row, column.key) for column in table.columns}
    try:
        session.execute(table.insert(), [values])
        session.commit()
    except IntegrityError:
        session.rollback()
        raise
    except (DBAPIError, SQLAlchemyError) as error:
        session.rollback()
        log.error("decision not stored: database unavailable",
                  extra={"event": "store_failed", "error": type(error).__name__})
        raise unavailable("the decision could not be stored; no decision was made") from None


def unavailable(message):
    return ApiError(503, "unavailable", message, headers={"Retry-After": "1"})


def observe(policy, outcome, hits, seconds):
    metrics.DECISIONS.labels(policy.name, outcome).inc()
    metrics.DECISION_SECONDS.labels(policy.name).observe(seconds)
    for rule in hits:
        metrics.RULE_HITS.labels(policy.name, rule).inc()


def view(row, include_trace):
    """The answer for a stored decision: the decision, its id and policy, and the trace if asked."""
    body = {"decision_id": row.id, "created_at": _iso(row.created_at),
            "decision_date": row.decision_date.isoformat() if row.decision_date else None,
            "policy": {"name": row.policy_name, "version": row.policy_version, "hash": row.policy_hash,
                       "engine": row.engine}}
    body.update({k: v for k, v in _loaded(row.result).items() if k not in body and k not in ("trace", "engine")})
    if include_trace:
        body["trace"] = _loaded(row.trace)
    return body


def _loaded(value):
    """A JSON column's value as a dict, whether just made (JSON text) or read back (dict)."""
    return json.loads(value) if isinstance(value, str) else value


def _iso(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def utc_now():
    return datetime.now(timezone.utc)


def business_date(moment):
    """The decision date: the calendar date in China at that moment."""
    return moment.astimezone(CHINA).date()


def find(session, decision_id):
    return session.scalar(select(Decision).where(Decision.id == decision_id))
