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


def test_decision_documents_are_compressed_with_lz4_on_postgresql(database_url):
    """A decision's trace (about 21 KB) compressed with pglz cost most of its INSERT (migration 0022)."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite does not compress values")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        methods = dict(conn.execute(text(
            "SELECT c.relname || '.' || a.attname, a.attcompression FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname IN ('decisions', 'bench_floor') "
            "AND a.attname IN ('result', 'trace', 'input_masked', 'pii_sealed', 'body')")).all())
    engine.dispose()
    assert methods == {"decisions.result": "l", "decisions.trace": "l", "decisions.input_masked": "l",
                       "decisions.pii_sealed": "l", "bench_floor.body": "l", "bench_floor.trace": "l"}
