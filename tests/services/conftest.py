"""Fixtures of the use-case tests: the services wired as in production, without Flask, on the real
test database (and Redis when REDIS_URL is set), with a clock the test sets."""
import datetime

import pytest
import redis

from app.services import build
from app.state.shared import PREFIX, InProcessShared, RedisShared
from support.settings import make_settings


class Clock:
    """A clock that says what the test wants: 2026-11-28 18:30 UTC (the 29th in China) by default."""

    def __init__(self):
        self.now = datetime.datetime(2026, 11, 28, 18, 30, tzinfo=datetime.timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def firefly(database_url, redis_url, clean_state, clock):
    services = build(make_settings(database_url, redis_url), clock=clock)
    yield services
    services.close()


@pytest.fixture(params=["in-process", "redis"])
def store_kind(request, redis_url):
    """Each anti-fraud store: in this process, and Redis (in the PostgreSQL + Redis run)."""
    if request.param == "redis" and redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis store runs in the PostgreSQL + Redis suite")
    return request.param


@pytest.fixture
def make_store(store_kind, redis_url):
    """A fresh, empty store of the kind under test (Redis: its keys deleted first)."""
    clients = []

    def make():
        if store_kind == "in-process":
            return InProcessShared()
        client = redis.Redis.from_url(redis_url)
        clients.append(client)
        keys = list(client.scan_iter(PREFIX + "*", count=1000))
        if keys:
            client.delete(*keys)
        return RedisShared(client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def policy(firefly):
    return firefly.registry.current().policies["zhishandai.application"]


@pytest.fixture
def lists(firefly):
    return firefly.deciding.velocity.lists
