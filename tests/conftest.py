"""Fixtures: an app on a clean real database (SQLite by default; DATABASE_URL / REDIS_URL when set).

Under pytest-xdist every worker gets its own database (a SQLite file, or a PostgreSQL database
named after the worker beside DATABASE_URL's) and its own Redis database number, so that workers
never clean each other's rows or keys.
"""
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import services
from app.storage.migrate import upgrade
from app.storage.models import Base

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `support` for every test package

from support.keys import KEYS  # noqa: E402
from support.settings import POLICY_ROOT, make_config  # noqa: E402
from support.shared_state import clean_redis  # noqa: E402


def _worker(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, request):
    """The test database, migrated once with Alembic: DATABASE_URL if set, else a temporary SQLite file."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'firefly.db'}"
    if not url.startswith("sqlite"):
        worker = _worker(request)
        if worker != "master":
            url = _worker_database(url, worker)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def _worker_database(url: str, worker: str) -> str:
    """A PostgreSQL database for one xdist worker on DATABASE_URL's server, created if missing."""
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def redis_url(request):
    url = os.environ.get("REDIS_URL") or None
    worker = _worker(request)
    if url and worker != "master":  # gw0 -> the database after REDIS_URL's, gw1 the next, ...
        parts = urlsplit(url)
        number = int(parts.path.strip("/") or 0) + 1 + int(worker.removeprefix("gw"))
        url = urlunsplit(parts._replace(path=f"/{number}"))
    return url


def clean_database(url):
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if url.startswith("sqlite"):
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            # The chained logs are append-only for every role (migration 0005); the suite, as the
            # superuser, empties them between tests as only a superuser can.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture
def clean_state(database_url, redis_url):
    clean_database(database_url)
    if redis_url:
        clean_redis(redis_url)


@pytest.fixture
def app(database_url, redis_url, clean_state):
    app = create_app(make_config(database_url, redis_url))
    yield app
    services(app).close()


@pytest.fixture
def policy_root(tmp_path):
    """A private copy of the served policy folder (policies/ and rules/) to edit in a test."""
    root = tmp_path / "root"
    for folder in ("policies", "rules"):
        shutil.copytree(POLICY_ROOT / folder, root / folder)
    return root


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
