"""Fixtures of the use-case tests: the services wired as in production, without Flask, on the real
test database (and Redis when REDIS_URL is set), with a clock the test sets."""
import datetime

import pytest

from app.services import build
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
