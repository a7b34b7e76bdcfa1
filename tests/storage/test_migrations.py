"""Migrations: they round-trip, and the migrated schema matches the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.storage.migrate import downgrade, include_object, upgrade
from app.storage.models import Base


def test_migrations_round_trip_and_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "0001")
    upgrade(url)
    downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}), Base.metadata) == []
    engine.dispose()


def test_migrations_round_trip_on_postgresql(database_url):
    """The same round trip on a scratch PostgreSQL database beside the test one (when CI has one)."""
    if database_url.startswith("sqlite"):
        pytest.skip("DATABASE_URL is SQLite; the round trip above covers it")
    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS firefly_migrations WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE firefly_migrations"))
    url = database_url.rsplit("/", 1)[0] + "/firefly_migrations"
    upgrade(url)
    downgrade(url, "0001")
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}),
                                Base.metadata) == []
    engine.dispose()
    with server.connect() as conn:
        conn.execute(text("DROP DATABASE firefly_migrations WITH (FORCE)"))
    server.dispose()


def test_migrated_test_database_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}), Base.metadata) == []
    engine.dispose()
