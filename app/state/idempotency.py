"""Idempotency claims: which request owns an Idempotency-Key while it is being decided.

In Redis (SET NX, shared by every worker) when configured. Without Redis, or with Redis down, there
is no claim and the decisions table's unique idempotency_key column guards alone: two workers
racing with one key can never store two decisions either way; the claim only lets a second request
wait for the first's decision instead of deciding again.

A claim in progress is a short lease (`lease` seconds): a worker killed between claiming and storing
leaves a key that frees itself within the lease, not one stuck for the whole TTL. A completed claim
(`fingerprint|decision_id`) is kept for `ttl` seconds.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import redis

PREFIX = "firefly:idem:"


class ClaimState(enum.Enum):
    OWNED = "owned"            # this request holds the key now and must complete or release it
    STORED = "stored"          # a decision was stored under the key (its id is given)
    IN_PROGRESS = "in_progress"  # another request holds the key and is still deciding
    OTHER_BODY = "other_body"  # the key was used with another request body
    UNGUARDED = "unguarded"    # no shared store (or it is down): the database's unique key guards


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    decision_id: str | None = None
    fingerprint: str | None = None  # OTHER_BODY: the one stored (it may be under an earlier key)


class Claims(Protocol):
    def claim(self, key: str, fingerprint: str) -> Claim: ...
    def complete(self, key: str, fingerprint: str, decision_id: str) -> bool: ...
    def release(self, key: str) -> bool: ...


class DatabaseOnlyClaims:
    """No shared store: nothing is claimed."""

    def claim(self, key: str, fingerprint: str) -> Claim:
        return Claim(ClaimState.UNGUARDED)

    def complete(self, key: str, fingerprint: str, decision_id: str) -> bool:
        return False

    def release(self, key: str) -> bool:
        return False


class RedisClaims:
    """Claims in Redis: `fingerprint|` while deciding (for `lease` seconds), `fingerprint|decision_id`
    once stored (for `ttl` seconds)."""

    def __init__(self, client: redis.Redis, ttl: int, lease: int = 10) -> None:
        self.client, self.ttl, self.lease = client, ttl, min(lease, ttl)

    def claim(self, key: str, fingerprint: str) -> Claim:
        name = PREFIX + key
        try:
            for _ in range(3):  # the key may expire between SET NX and GET
                if self.client.set(name, fingerprint + "|", nx=True, ex=self.lease):
                    return Claim(ClaimState.OWNED)
                value = self.client.get(name)
                if value is not None:
                    break
            else:
                return Claim(ClaimState.UNGUARDED)
        except redis.RedisError:
            return Claim(ClaimState.UNGUARDED)
        stored, _, decision_id = value.decode().partition("|")
        if stored != fingerprint:
            return Claim(ClaimState.OTHER_BODY, decision_id or None, stored)
        if decision_id:
            return Claim(ClaimState.STORED, decision_id)
        return Claim(ClaimState.IN_PROGRESS)

    def complete(self, key: str, fingerprint: str, decision_id: str) -> bool:
        try:
            self.client.set(PREFIX + key, f"{fingerprint}|{decision_id}", ex=self.ttl)
            return True
        except redis.RedisError:
            return False  # the row itself carries the key

    def release(self, key: str) -> bool:
        try:
            self.client.delete(PREFIX + key)
            return True
        except redis.RedisError:
            return False
