"""Fixtures: an app on a clean real database (SQLite by default; DATABASE_URL / REDIS_URL when set)."""
import os
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from app import create_app
from app.storage.migrate import upgrade
from app.storage.models import Base

REPO = Path(__file__).resolve().parent.parent
KEYS = {"channel": "test-channel-key", "compliance": "test-compliance-key", "admin": "test-admin-key"}
TEST_API_KEYS = ",".join(f"test-{role}:{role}:{key}" for role, key in KEYS.items())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The test database, migrated once with Alembic: DATABASE_URL if set, else a temporary SQLite file."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'firefly.db'}"
    if not url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url():
    return os.environ.get("REDIS_URL") or None


def clean_database(url):
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if url.startswith("sqlite"):
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " CASCADE"))
    engine.dispose()


def clean_redis(url):
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("firefly:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def make_config(database_url, redis_url, **overrides):
    config = {"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
              "FIREFLY_API_KEYS": TEST_API_KEYS, "FIREFLY_POLICY_ROOT": os.environ.get("FIREFLY_POLICY_ROOT") or str(REPO),
              "FIREFLY_RUN_POLICY_TESTS": False, "FIREFLY_ENV": "testing"}
    config.update(overrides)
    return config


@pytest.fixture
def clean_state(database_url, redis_url):
    clean_database(database_url)
    if redis_url:
        clean_redis(redis_url)


@pytest.fixture
def app(database_url, redis_url, clean_state):
    app = create_app(make_config(database_url, redis_url))
    yield app
    app.extensions["firefly_db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth():
    """auth(role) -> the headers of a request made with the test key of that role."""
    return lambda role: {"X-API-Key": KEYS[role]}
