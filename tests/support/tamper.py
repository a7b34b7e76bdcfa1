"""Changing stored rows as someone with direct access to the database would (what `flask audit
verify` reports, and what a rebuild of the anti-fraud memory refuses to replay)."""
from sqlalchemy import create_engine, text


def as_insider(connection):
    """Let a connection or ORM session of the test write past PostgreSQL's append-only triggers
    for its transaction, as the database's owner can (nothing to do on SQLite)."""
    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection  # a session, or a connection
    if bind.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))


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


def edit_version_files(firefly, policy_hash, old, new):
    """A stored policy version's files edited in the database (every `old` made `new`), its hash
    left as it was."""
    from app.storage.models import PolicyVersion
    with firefly.database.session() as session:
        as_insider(session)
        row = session.get(PolicyVersion, policy_hash)
        assert any(old in body for body in row.files.values())  # the edit changes something
        row.files = {path: body.replace(old, new) for path, body in row.files.items()}
        session.commit()
