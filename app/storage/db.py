"""The database handle: one SQLAlchemy engine per process and a session per unit of work."""
from __future__ import annotations

import datetime
import json
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker


class RawJSON(str):
    """JSON text already serialised (the engine's canonical form): a JSON column stores it as it
    is instead of serialising it again."""


class Database:
    """An SQLAlchemy engine and session factory bound to one URL."""

    def __init__(self, url: str, lock_timeout_ms: int = 10000) -> None:
        self.url = url
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": lock_timeout_ms / 1000, "check_same_thread": False}
        else:
            options.update(pool_size=5, max_overflow=10, pool_timeout=5,
                           connect_args={"connect_timeout": 3,
                                         "options": f"-c lock_timeout={int(lock_timeout_ms)}"})
        self.engine = create_engine(url, json_serializer=_json_text, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one unit of work: rolled back on an error, always closed."""
        session = self.sessions()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection for one statement and its commit, without a Session's bookkeeping
        (the hot INSERT of a decision: app/storage/chain.py insert_entry); rolled back unless
        committed, always returned to the pool."""
        with self.engine.connect() as connection:
            yield connection

    def ping(self) -> None:
        """Raise if the database cannot answer."""
        with self.session() as session:
            session.execute(text("SELECT 1")).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()


def utc(moment: datetime.datetime) -> datetime.datetime:
    """A moment as an aware UTC time, as the tables compare it (SQLite reads back naive UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def insert_row(session: Session | Connection, row: Any) -> None:
    """Insert one mapped row with a plain INSERT (no unit-of-work bookkeeping), and commit."""
    table = type(row).__table__
    session.execute(table.insert(), [{column.key: getattr(row, column.key) for column in table.columns}])
    session.commit()


def add_unique(session: Session, row: Any) -> bool:
    """Add a row and commit; False (and nothing written) when a unique key already holds it."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _json_text(value: Any) -> str:
    """Serialise a JSON column's value; JSON text already made (RawJSON) is stored as it is."""
    if isinstance(value, RawJSON):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
