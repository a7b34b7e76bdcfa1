"""Shared fast state: Redis when REDIS_URL is set, else nothing shared beyond the database.

Chosen once at start-up (`open_state`); the adapters return facts and never raise HTTP errors.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from app.state.idempotency import Claims, DatabaseOnlyClaims, RedisClaims
from app.state.shared import InProcessShared, RedisShared, SharedState
from app.state.sign_ins import InProcessSignIns, RedisSignIns, SignIns

# Failed console sign-ins are counted over windows of this many seconds (app/state/sign_ins.py).
SIGN_IN_WINDOW = 15 * 60

log = logging.getLogger("firefly.state")


@dataclass
class State:
    """What the service shares between workers, and how to tell that it is reachable."""

    kind: str  # "redis" or "in-process"
    claims: Claims
    client: redis.Redis | None = None
    shared: SharedState | None = None  # anti-fraud counters, links and last-seen facts
    sign_ins: SignIns | None = None    # failed console sign-ins per username

    def __post_init__(self) -> None:
        if self.shared is None:
            self.shared = RedisShared(self.client) if self.client is not None else InProcessShared()
        if self.sign_ins is None:
            self.sign_ins = (RedisSignIns(self.client, SIGN_IN_WINDOW) if self.client is not None
                             else InProcessSignIns(SIGN_IN_WINDOW))

    def ping(self) -> None:
        """Raise if the shared store is configured and cannot answer."""
        if self.client is not None:
            self.client.ping()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def open_state(redis_url: str | None, idempotency_ttl: int, claim_lease: int = 10) -> State:
    """Connect to Redis if a URL is given (lazily: a Redis that is down is a fact at use, not an
    error at start-up); say at start-up which store is used."""
    if redis_url:
        client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1,
                                      health_check_interval=30)
        log.info("idempotency keys and anti-fraud counters in Redis",
                 extra={"event": "startup_state", "store": "redis"})
        return State("redis", RedisClaims(client, idempotency_ttl, claim_lease), client,
                     RedisShared(client))
    log.warning("REDIS_URL not set: idempotency keys are kept in the database, and anti-fraud "
                "counters (velocity, links, last seen) in this process only: not shared with other "
                "workers, lost at restart", extra={"event": "startup_state", "store": "database"})
    return State("in-process", DatabaseOnlyClaims(), shared=InProcessShared())
