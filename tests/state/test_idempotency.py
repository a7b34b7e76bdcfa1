"""Idempotency claims: in Redis, shared by every worker; without Redis, or with Redis down, no
claim (the database's unique key guards) — facts either way, never an exception."""
import pytest
import redis

from app.state import open_state
from app.state.idempotency import PREFIX, Claim, ClaimState, DatabaseOnlyClaims, RedisClaims


@pytest.fixture
def claims(redis_url, clean_state):
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis claims run in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)
    yield RedisClaims(client, ttl=60)
    client.close()


def test_the_first_request_owns_the_key_and_others_wait(claims):
    assert claims.claim("c:k", "body-1") == Claim(ClaimState.OWNED)
    assert claims.claim("c:k", "body-1") == Claim(ClaimState.IN_PROGRESS)
    assert claims.claim("c:k", "body-2") == Claim(ClaimState.OTHER_BODY, None, "body-1")


def test_a_completed_claim_names_its_decision(claims):
    claims.claim("c:k", "body-1")
    assert claims.complete("c:k", "body-1", "d" * 32)
    assert claims.claim("c:k", "body-1") == Claim(ClaimState.STORED, "d" * 32)
    assert claims.claim("c:k", "body-2") == Claim(ClaimState.OTHER_BODY, "d" * 32, "body-1")


def test_a_released_claim_is_free_again(claims):
    claims.claim("c:k", "body-1")
    assert claims.release("c:k")
    assert claims.claim("c:k", "body-2") == Claim(ClaimState.OWNED)


def test_claims_expire(claims):
    claims.claim("c:k", "body-1")
    assert 0 < claims.client.ttl(PREFIX + "c:k") <= 60


def test_redis_down_is_a_fact_not_an_error():
    down = RedisClaims(redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), ttl=60)
    assert down.claim("c:k", "body") == Claim(ClaimState.UNGUARDED)
    assert down.complete("c:k", "body", "d" * 32) is False
    assert down.release("c:k") is False


def test_without_redis_nothing_is_claimed():
    state = open_state(None, 60)
    assert state.kind == "in-process" and isinstance(state.claims, DatabaseOnlyClaims)
    assert state.claims.claim("c:k", "body") == Claim(ClaimState.UNGUARDED)
    state.ping()  # nothing to reach: no error
