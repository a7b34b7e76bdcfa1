"""Idempotency claims in Redis do not get stuck: a claim left by a killed worker frees itself within
the lease; after Redis restarts empty every retry gets the stored decision; a retry that arrives
while the first request is deciding waits and answers with the first's decision."""
import threading

import pytest

from app import create_app
from app.extensions import services
from app.services.deciding import DecisionRequest
from app.services.access import Principal
from app.state.idempotency import PREFIX, ClaimState
from support.http import POLICY, URL
from support.keys import KEYS
from support.settings import make_config

CALLER = "test-channel"  # the name of the channel test key: claims are scoped by it


@pytest.fixture
def redis_app(database_url, redis_url, clean_state):
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis claims run in the PostgreSQL + Redis suite")
    made = []

    def make(**overrides):
        app = create_app(make_config(database_url, redis_url, **overrides))
        made.append(app)
        return app
    yield make
    for app in made:
        services(app).close()


def post(app, body, key):
    return app.test_client().post(URL, json=body, headers={"X-API-Key": KEYS["channel"], "Idempotency-Key": key})


def test_a_claim_left_by_a_killed_worker_frees_itself_within_the_lease(redis_app, bodies, count_rows):
    app = redis_app(FIREFLY_IDEMPOTENCY_LEASE=1, FIREFLY_IDEMPOTENCY_WAIT_MS=10000)
    claims = services(app).state.claims
    # What a worker killed between claiming and storing leaves behind:
    assert claims.claim(f"{CALLER}:k", services(app).personal.request_hash(POLICY, bodies[0])).state is ClaimState.OWNED
    assert 0 < claims.client.ttl(PREFIX + f"{CALLER}:k") <= 1
    response = post(app, bodies[0], "k")
    assert response.status_code == 201, response.get_json()
    assert "Idempotent-Replayed" not in response.headers
    assert count_rows() == 1
    stored = claims.client.get(PREFIX + f"{CALLER}:k").decode()
    assert stored.endswith("|" + response.get_json()["decision_id"])
    assert claims.client.ttl(PREFIX + f"{CALLER}:k") > 3600  # a stored decision is kept for the TTL


def test_after_redis_restarts_empty_every_retry_gets_the_stored_decision(redis_app, bodies, count_rows):
    app = redis_app()
    first = post(app, bodies[0], "k")
    assert first.status_code == 201
    client = services(app).state.client
    client.delete(*client.keys("firefly:*"))  # Redis restarted without its data
    for _ in range(3):
        again = post(app, bodies[0], "k")
        assert again.status_code == 201, again.get_json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json()["decision_id"] == first.get_json()["decision_id"]
    assert count_rows() == 1


class WaitingSpy:
    """The service's claims, telling the test when a request found the key in progress."""

    def __init__(self, claims):
        self.claims, self.saw_in_progress = claims, threading.Event()

    def claim(self, key, fingerprint):
        claim = self.claims.claim(key, fingerprint)
        if claim.state is ClaimState.IN_PROGRESS:
            self.saw_in_progress.set()
        return claim

    def __getattr__(self, name):
        return getattr(self.claims, name)


def test_a_retry_during_the_first_request_waits_for_its_decision(redis_app, bodies, count_rows):
    app = redis_app(FIREFLY_IDEMPOTENCY_LEASE=60, FIREFLY_IDEMPOTENCY_WAIT_MS=30000)
    deciding = services(app).deciding
    spy = deciding.claims = WaitingSpy(deciding.claims)
    key, fingerprint = f"{CALLER}:k", services(app).personal.request_hash(POLICY, bodies[0])
    assert spy.claim(key, fingerprint).state is ClaimState.OWNED  # the first request is deciding
    answers = []
    retry = threading.Thread(target=lambda: answers.append(post(app, bodies[0], "k")))
    retry.start()
    assert spy.saw_in_progress.wait(30)
    # The first request stores its decision and completes its claim.
    first = DecisionRequest(policy_name=POLICY, body=bodies[0], caller=Principal(CALLER, "channel"),
                            request_id="first", idempotency_key="k")
    row, _ = deciding._decide_and_store(deciding.registry.served(POLICY), first, key, fingerprint)
    spy.complete(key, fingerprint, row.id)
    retry.join(30)
    assert [a.status_code for a in answers] == [201], [a.get_json() for a in answers]
    assert answers[0].get_json()["decision_id"] == row.id
    assert answers[0].headers["Idempotent-Replayed"] == "true"
    assert count_rows() == 1


def test_a_retry_that_outwaits_its_bound_is_409_with_retry_after(redis_app, bodies, count_rows):
    app = redis_app(FIREFLY_IDEMPOTENCY_LEASE=60, FIREFLY_IDEMPOTENCY_WAIT_MS=50)
    claims = services(app).state.claims
    claims.claim(f"{CALLER}:k", services(app).personal.request_hash(POLICY, bodies[0]))
    response = post(app, bodies[0], "k")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_in_progress"
    assert response.headers["Retry-After"] == "1"
    assert count_rows() == 0
