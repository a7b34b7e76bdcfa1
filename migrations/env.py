"""Alembic environment: the URL comes from the caller or from DATABASE_URL."""
from alembic import context
from sqlalchemy import create_engine, pool

from app.config import from_environment
from app.storage.migrate import include_object
from app.storage.models import Base

config = context.config
target_metadata = Base.metadata


def database_url():
    return config.get_main_option("sqlalchemy.url") or from_environment()["DATABASE_URL"]


def run_migrations_offline():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(database_url(), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection):
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
