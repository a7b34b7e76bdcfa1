"""The chained logs' storage: what an entry's content is, its sequence number, and the seals.

An entry of a chained log (a decision, an access event) carries, from its INSERT on:
- `seq`, its place in the log (a PostgreSQL sequence; on SQLite, whose writes are serialised, the
  largest number plus one),
- `content_hash`, the SHA-256 of its canonical content (every column but the ones of the log
  itself, and the sealed personal data only as its digest),
- `row_mac`, a keyed MAC of that hash, so a row written by anyone without the key is noticed.
The sealer (app/services/audit_log.py) later appends a `log_seals` row per entry, in order, each
binding the entry's hash to the link before with a keyed hash: deleting, editing or reordering an
entry, or a seal, breaks what `flask audit verify` recomputes.
"""
from __future__ import annotations

import datetime
import decimal
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.orm import Session

from app.storage.models import AccessEvent, Decision, DecisionReview, LogSeal, ReleaseEvent

# How far back in sequence numbers the sealer looks for entries committed after later ones.
LATE_COMMIT_WINDOW = 1000


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, text as is (the engine's canonical_json form)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def json_text(value: Any) -> str:
    """A JSON column's value as canonical text: the text itself when just made (already canonical),
    else the value read back, serialised canonically (the same text)."""
    return str(value) if isinstance(value, str) else dumps(value)


def plain(value: Any, numeric: bool = False) -> Any:
    """A column value as it is hashed: times in UTC ISO form (SQLite gives them back naive),
    dates ISO, the number of a Numeric column with its four stored decimals."""
    if numeric and value is not None:
        return format(decimal.Decimal(str(value)).quantize(decimal.Decimal("0.0001")), "f")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def mac_text(log: str, entry_id: str, content_hash: str) -> str:
    """What an entry's MAC covers: its log, its id and its content hash (a row copied under
    another id keeps neither)."""
    return f"{log}|{entry_id}|{content_hash}"


def sha256(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


DECISION_COLUMNS = ("id", "created_at", "decision_date", "policy_name", "policy_version", "policy_hash",
                    "engine", "outcome", "limit", "customer_group", "score", "score_band",
                    "reason_codes", "rule_hits", "pii_digest", "resident_id_hash", "phone_hash",
                    "idempotency_key", "request_hash", "request_id", "channel", "key_id",
                    "pipl_consent_id", "bureau_authorisation_id")
DECISION_DOCUMENTS = ("result", "trace", "input_masked")
OPTIONAL_DECISION_COLUMNS = ("arm", "shadow_of", "line_hash", "granted_by")


def decision_content_hash(row: Decision) -> str:
    """The SHA-256 of a decision's content: its columns, then its result, trace and stored input."""
    columns = {name: plain(getattr(row, name), numeric=name == "score") for name in DECISION_COLUMNS}
    # champion/challenger (migration 0014), line and granting decision (0018): part of the content
    # only when set, so that the rows stored before keep their hashes
    columns.update({name: getattr(row, name) for name in OPTIONAL_DECISION_COLUMNS
                    if getattr(row, name, None) is not None})
    header = dumps(columns)
    return sha256("\x1e".join([header, *(json_text(getattr(row, name)) for name in DECISION_DOCUMENTS)]))


ACCESS_COLUMNS = ("id", "created_at", "actor", "role", "action", "decision_ids", "details", "request_id")


def access_content_hash(row: AccessEvent) -> str:
    return sha256(dumps({name: plain(getattr(row, name)) for name in ACCESS_COLUMNS}))


RELEASE_EVENT_COLUMNS = ("id", "release_id", "action", "actor", "role", "reason", "created_at")


def release_event_content_hash(row: ReleaseEvent) -> str:
    return sha256(dumps({name: plain(getattr(row, name)) for name in RELEASE_EVENT_COLUMNS}))


REVIEW_COLUMNS = ("id", "decision_id", "kind", "closes", "answers", "actor", "role", "body", "created_at")


def review_content_hash(row: DecisionReview) -> str:
    return sha256(dumps({name: plain(getattr(row, name)) for name in REVIEW_COLUMNS}))


@dataclass(frozen=True)
class ChainedTable:
    """A table that is a chained log: its model, how its content hashes, its sequence's name."""

    log: str
    model: Any
    content_hash: Callable[[Any], str]
    sequence: str


CHAINED: dict[str, ChainedTable] = {
    "decisions": ChainedTable("decisions", Decision, decision_content_hash, "decisions_seq"),
    "access": ChainedTable("access", AccessEvent, access_content_hash, "access_events_seq"),
    "releases": ChainedTable("releases", ReleaseEvent, release_event_content_hash, "release_events_seq"),
    "reviews": ChainedTable("reviews", DecisionReview, review_content_hash, "decision_reviews_seq"),
}


def register(table: ChainedTable) -> None:
    CHAINED[table.log] = table


def insert_entry(session: Session | Connection, log: str, row: Any, commit: bool = True) -> None:
    """INSERT one entry with the next sequence number, and commit (rows are never updated);
    `commit=False`: in the caller's transaction, stored with what it changes or not at all.
    `session`: an ORM session or a Core connection (Database.connection: the hot decision row)."""
    chained = CHAINED[log]
    statement, keys = _insert_of(chained, _dialect(session))
    session.execute(statement, {key: getattr(row, key) for key in keys})
    if commit:
        session.commit()


def insert_entries(session: Session, log: str, rows: list[Any]) -> None:
    """INSERT entries in order, each with the next sequence number, and commit once: a batch is
    stored whole or not at all."""
    statement, keys = _insert_of(CHAINED[log], _dialect(session))
    try:
        # one statement run for every row (executemany): the sequence is taken row by row, in order
        session.execute(statement, [{key: getattr(row, key) for key in keys} for row in rows])
        session.commit()
    except Exception:
        session.rollback()
        raise


# The INSERT of each chained log per dialect, built once: a statement built anew for every entry
# cost more than its execution's own Python (SQLAlchemy's cache key of a new statement is computed
# again each time; a kept one keeps it).
_INSERTS: dict[tuple[ChainedTable, str], tuple[Any, tuple[str, ...]]] = {}


def _insert_of(chained: ChainedTable, dialect: str) -> tuple[Any, tuple[str, ...]]:
    """The INSERT of a chained log's entry (its sequence number taken by the statement) and the
    columns it binds by name (every column but `seq`)."""
    found = _INSERTS.get((chained, dialect))
    if found is None:
        table = chained.model.__table__
        if dialect == "postgresql":
            seq: Any = text(f"nextval('{chained.sequence}')")
        else:  # SQLite serialises writers: the largest number plus one is taken by this INSERT alone
            seq = select(func.coalesce(func.max(table.c.seq), 0) + 1).scalar_subquery()
        found = _INSERTS[(chained, dialect)] = (
            table.insert().values(seq=seq), tuple(column.key for column in table.columns if column.key != "seq"))
    return found


def _dialect(executor: Session | Connection) -> str:
    return executor.get_bind().dialect.name if isinstance(executor, Session) else executor.dialect.name


def add_seals(session: Session, links: list[dict[str, Any]]) -> None:
    """INSERT a batch of seals (LogSeal columns by name) in one statement run, without committing."""
    session.execute(insert(LogSeal), links)


def head(session: Session, log: str) -> LogSeal | None:
    """The last seal of a log."""
    return session.scalar(select(LogSeal).where(LogSeal.log == log)
                          .order_by(LogSeal.position.desc()).limit(1))


def pending(session: Session, log: str, after_seq: int, limit: int) -> list[Any]:
    """Entries without a seal whose sequence number is above `after_seq`, in order: their id,
    sequence number, content hash and MAC only (the sealer binds the hash the row was written
    with; whether the content still matches it is verify's question)."""
    found = list(session.execute(pending_query(log, after_seq, limit)))
    if not found:
        return found
    # The query knows a seal by its sequence number's range; an entry whose number was changed
    # after it was sealed (only someone bypassing the service can) would look pending, and sealing
    # it again would fail the pass, and every pass after it. Its seal is found here by entry id
    # (an index probe per candidate), and verify names it as reordered.
    sealed = set(session.scalars(select(LogSeal.entry_id).where(
        LogSeal.log == log, LogSeal.entry_id.in_([entry.id for entry in found]))))
    return [entry for entry in found if entry.id not in sealed]


def pending_query(log: str, after_seq: int, limit: int) -> Any:
    model = CHAINED[log].model
    # An entry's seal carries the entry's sequence number, so only seals above `after_seq` can seal
    # an entry above it: reading those alone (an index range on log_seals (log, seq), migration
    # 0021) keeps a pass to the window instead of every seal the log ever had. NOT IN (entry_id is
    # never NULL) is run by PostgreSQL as one hashed subquery whatever its statistics say; the
    # NOT EXISTS it replaces was planned as a nested loop over the window on a table not yet
    # analysed (64 ms a pass at 1,300 entries), or as a hash of every seal.
    if after_seq <= 0:  # the whole log (the command's seal): an anti-join over it, not a hash in memory
        sealed_anywhere = select(LogSeal.entry_id).where(LogSeal.log == log, LogSeal.entry_id == model.id)
        return (select(model.id, model.seq, model.content_hash, model.row_mac)
                .where(model.seq.is_not(None), ~sealed_anywhere.exists())
                .order_by(model.seq).limit(limit))
    sealed = select(LogSeal.entry_id).where(LogSeal.log == log, LogSeal.seq > after_seq)
    return (select(model.id, model.seq, model.content_hash, model.row_mac)
            .where(model.seq > after_seq, model.id.not_in(sealed))
            .order_by(model.seq).limit(limit))


def seal_pages(session: Session, log: str, first: int, last: int | None, size: int) -> Iterator[list[LogSeal]]:
    """A log's seals from position `first` to `last` (all after it if None), in order, `size` at a
    time (keyset pages on the primary key, so each page is an index range however long the log)."""
    start = first
    while True:
        statement = select(LogSeal).where(LogSeal.log == log, LogSeal.position >= start)
        if last is not None:
            statement = statement.where(LogSeal.position <= last)
        page = list(session.scalars(statement.order_by(LogSeal.position).limit(size)))
        if not page:
            return
        yield page
        if len(page) < size:
            return
        start = page[-1].position + 1


def seal_of(session: Session, log: str, entry_id: str) -> LogSeal | None:
    """The seal of an entry, by its id (ux_log_seals_entry), whether or not the entry is stored."""
    return session.scalar(select(LogSeal).where(LogSeal.log == log, LogSeal.entry_id == entry_id))


def seal_at(session: Session, log: str, position: int) -> LogSeal | None:
    return session.get(LogSeal, (log, position))


def entries(session: Session, log: str, ids: Iterable[str]) -> dict[str, Any]:
    model = CHAINED[log].model
    ids = list(ids)
    found: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        for row in session.scalars(select(model).where(model.id.in_(ids[start:start + 500]))):
            found[row.id] = row
    return found


def unsealed(session: Session, log: str, low_seq: int | None, high_seq: int | None,
             size: int = 500) -> Iterator[Any]:
    """Entries without a seal (optionally with a sequence number in [low, high]), in order, read
    `size` rows at a time."""
    model = CHAINED[log].model
    sealed = select(LogSeal.entry_id).where(LogSeal.log == log, LogSeal.entry_id == model.id)
    statement = select(model).where(~sealed.exists())
    if low_seq is not None:
        statement = statement.where(model.seq >= low_seq)
    if high_seq is not None:
        statement = statement.where(model.seq <= high_seq)
    for row in session.scalars(statement.order_by(model.seq).execution_options(yield_per=size)):
        yield row


def lock_sealer(session: Session, log: str) -> bool:
    """Take the log's sealing lock for this transaction (PostgreSQL); False if another sealer holds
    it. SQLite serialises writers itself, and the seals' primary key refuses a fork."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = int(hashlib.sha256(f"firefly-seal-{log}".encode()).hexdigest()[:15], 16)
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())
