"""Changing stored rows as someone with direct access to the database would (what `flask audit
verify` reports, and what a rebuild of the anti-fraud memory refuses to replay)."""
from sqlalchemy import create_engine, text


def tamper(database_url, *statements):
    """Run (statement, parameters) pairs in one transaction: on PostgreSQL as a superuser who
    switches the append-only triggers off for the session."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if not database_url.startswith("sqlite"):
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement, params in statements:
            conn.execute(text(statement), params)
    engine.dispose()
