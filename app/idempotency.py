"""Idempotency-Key: the same key and body return the stored decision; another body is a 409.

Keys live in Redis when REDIS_URL is set (SET NX, shared by every worker), else in the decisions
table (its unique idempotency_key column). The unique column guards both cases: two workers racing
with one key can never store two decisions.
"""
import logging

import redis
from sqlalchemy import select

from app.errors import ApiError
from app.storage.models import Decision

log = logging.getLogger("firefly.idempotency")
MAX_KEY_LENGTH = 255


def scoped_key(principal, header):
    """The stored key: the caller's key name and the header, so two channels never collide."""
    if not header or len(header) > MAX_KEY_LENGTH or not header.isprintable():
        raise ApiError(400, "invalid_idempotency_key",
                       f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return f"{principal.name}:{header}"


def lookup_stored(session, key, request_hash):
    """The decision stored under this key, a 409 if it was for another body, or None."""
    row = session.scalar(select(Decision).where(Decision.idempotency_key == key))
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise conflict()
    return row


def conflict():
    return ApiError(409, "idempotency_conflict",
                    "this Idempotency-Key was already used with a different request body")


class RedisKeys:
    """Claims in Redis: `hash|` while deciding, `hash|decision_id` once stored."""

    def __init__(self, client, ttl):
        self.client, self.ttl = client, ttl

    def claim(self, key, request_hash):
        """Return ("new", None), ("stored", decision_id) or ("busy", None); raise 409 on another body."""
        name = "firefly:idem:" + key
        if self.client.set(name, request_hash + "|", nx=True, ex=self.ttl):
            return "new", None
        value = self.client.get(name)
        if value is None:  # expired between the two calls
            return self.claim(key, request_hash)
        stored_hash, _, decision_id = value.decode().partition("|")
        if stored_hash != request_hash:
            raise conflict()
        return ("stored", decision_id) if decision_id else ("busy", None)

    def complete(self, key, request_hash, decision_id):
        self.client.set("firefly:idem:" + key, f"{request_hash}|{decision_id}", ex=self.ttl)

    def release(self, key):
        self.client.delete("firefly:idem:" + key)


def redis_client(app):
    return app.extensions.get("firefly_redis")


def init_app(app):
    url = app.config.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1,
                                      health_check_interval=30)
        app.extensions["firefly_redis"] = client
        app.extensions["firefly_idempotency"] = RedisKeys(client, app.config["FIREFLY_IDEMPOTENCY_TTL"])
        log.info("idempotency keys in Redis", extra={"event": "startup_state", "store": "redis"})
    else:
        app.extensions["firefly_idempotency"] = None
        log.warning("REDIS_URL not set: idempotency keys are kept in the database and shared state "
                    "in this process only", extra={"event": "startup_state", "store": "database"})
