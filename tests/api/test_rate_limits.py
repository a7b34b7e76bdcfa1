"""Each API key's request limits (FIREFLY_RATE_LIMIT, FIREFLY_RATE_LIMITS_BY_KEY;
app/state/rate_limits.py): a key past its limit is 429 with Retry-After before anything is read,
counted or decided; other keys are served; the count is one for every worker when Redis is
configured, and falls back to the worker's own when Redis does not answer (never a 500).

The limits here are per minute and the tests send a handful of requests: each finishes well inside
its window however slow the machine."""
import pytest
from prometheus_client import REGISTRY

from app import create_app
from app.config import ConfigError
from app.extensions import services
from support.keys import KEYS
from support.settings import make_config

POLICIES = "/v1/policies"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there


def limited(key):
    return REGISTRY.get_sample_value("firefly_rate_limited_total", {"key": key}) or 0


@pytest.fixture
def make_app(database_url, redis_url, clean_state):
    made = []

    def make(redis=redis_url, **overrides):
        app = create_app(make_config(database_url, redis, **overrides))
        made.append(app)
        return app.test_client()
    yield make
    for app in made:
        services(app).close()


def get(client, role):
    return client.get(POLICIES, headers={"X-API-Key": KEYS[role]})


def test_a_key_past_its_limit_is_429_with_retry_after_and_other_keys_are_served(make_app):
    client = make_app(FIREFLY_RATE_LIMIT="3/minute")
    before = limited("test-channel")
    assert [get(client, "channel").status_code for _ in range(3)] == [200, 200, 200]
    refused = get(client, "channel")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_requests" and "3 per 1 minute" in error["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert limited("test-channel") == before + 1
    assert get(client, "compliance").status_code == 200  # its own count
    assert client.get("/healthz").status_code == 200     # no key, no limit
    # a decision is refused before it is read or counted: nothing stored, no 422 for the empty body
    decision = client.post("/v1/decisions/zhishandai.application", json={},
                           headers={"X-API-Key": KEYS["channel"]})
    assert decision.status_code == 429


def test_a_key_named_in_the_limits_by_key_has_its_own(make_app):
    client = make_app(FIREFLY_RATE_LIMIT="none", FIREFLY_RATE_LIMITS_BY_KEY="test-channel=2/minute")
    assert [get(client, "channel").status_code for _ in range(3)] == [200, 200, 429]
    assert [get(client, "compliance").status_code for _ in range(5)] == [200] * 5  # none for the others


def test_without_limits_nothing_is_refused(make_app):
    client = make_app()
    assert [get(client, "channel").status_code for _ in range(10)] == [200] * 10


def test_the_count_is_one_for_every_worker_with_redis_and_each_workers_own_without(make_app, redis_url):
    first, second = make_app(FIREFLY_RATE_LIMIT="3/minute"), make_app(FIREFLY_RATE_LIMIT="3/minute")
    answers = [get(worker, "channel").status_code for worker in (first, second, first, second)]
    if redis_url:  # the PostgreSQL + Redis run: one count in Redis
        assert answers == [200, 200, 200, 429]
    else:  # no Redis: each worker counts its own (docs/controls.md says so)
        assert answers == [200, 200, 200, 200]


def test_with_redis_unreachable_each_worker_counts_its_own_and_never_fails(make_app, caplog):
    client = make_app(redis=DEAD_REDIS, FIREFLY_RATE_LIMIT="2/minute")
    assert [get(client, "channel").status_code for _ in range(3)] == [200, 200, 429]
    assert [r for r in caplog.records if getattr(r, "event", None) == "rate_limits_local"]


@pytest.mark.parametrize("setting, value", [("FIREFLY_RATE_LIMIT", "lots"),
                                            ("FIREFLY_RATE_LIMIT", "10/fortnight"),
                                            ("FIREFLY_RATE_LIMITS_BY_KEY", "partner-a"),
                                            ("FIREFLY_RATE_LIMITS_BY_KEY", "partner-a=fast")])
def test_a_limit_that_is_not_one_stops_the_start(database_url, setting, value):
    with pytest.raises(ConfigError) as refused:
        create_app(make_config(database_url, None, **{setting: value}))
    assert "rate limit" in str(refused.value) or "KEY_NAME=LIMITS" in str(refused.value)
