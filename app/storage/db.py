"""The database handle: one engine per app, one session per request."""
import json

from flask import current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker


class Database:
    """An SQLAlchemy engine and session factory bound to one URL."""

    def __init__(self, url, lock_timeout_ms=10000):
        self.url = url
        options = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"timeout": lock_timeout_ms / 1000, "check_same_thread": False}
        else:
            options.update(pool_size=5, max_overflow=10, pool_timeout=5,
                           connect_args={"connect_timeout": 3,
                                         "options": f"-c lock_timeout={int(lock_timeout_ms)}"})
        self.engine = create_engine(url, json_serializer=_json_text, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self):
        self.engine.dispose()


def _json_text(value):
    """Serialise a JSON column's value; JSON text already made (RawJSON) is stored as it is."""
    if isinstance(value, str) and type(value).__name__ == "RawJSON":
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_db():
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["firefly_db"].sessions()
    return g.db_session


def _close_session(_exc):
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app):
    app.extensions["firefly_db"] = Database(app.config["DATABASE_URL"], app.config["FIREFLY_DB_LOCK_TIMEOUT_MS"])
    app.teardown_appcontext(_close_session)


def rollback_request_session():
    """Roll back the request's session after an error, if one is open."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()
