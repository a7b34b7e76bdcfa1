"""Make every write to the access log fail in the database itself (a trigger refusing INSERTs into
access_events), as a full disk or a revoked grant would: the use case sees the database error."""
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def access_log_refusing(database_url):
    engine = create_engine(database_url)
    sqlite = database_url.startswith("sqlite")
    with engine.begin() as conn:
        if sqlite:
            conn.execute(text("CREATE TRIGGER refuse_access BEFORE INSERT ON access_events "
                              "BEGIN SELECT RAISE(ABORT, 'the access log is down'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_access() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'the access log is down'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_access BEFORE INSERT ON access_events "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_access()"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            if sqlite:
                conn.execute(text("DROP TRIGGER refuse_access"))
            else:
                conn.execute(text("DROP TRIGGER refuse_access ON access_events"))
                conn.execute(text("DROP FUNCTION refuse_access()"))
        engine.dispose()
