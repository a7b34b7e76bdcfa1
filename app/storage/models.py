"""The tables: decisions (insert-only, one row each), policy versions, API keys, the benchmark floor.

Reason codes and rule hits are JSON arrays on the decision row, searched with json_each on SQLite
and with GIN-indexed jsonb containment on PostgreSQL (migration 0002)."""
from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class PolicyVersion(Base):
    """One version of a policy: its content hash and the text of every file it uses."""
    __tablename__ = "policy_versions"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(100))
    engine: Mapped[str] = mapped_column(String(20))
    files: Mapped[dict] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Decision(Base):
    """A decision as it was sent to the caller; rows are never updated."""
    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decision_date: Mapped[object] = mapped_column(Date)
    policy_name: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[str] = mapped_column(String(100))
    policy_hash: Mapped[str] = mapped_column(ForeignKey("policy_versions.hash"))
    engine: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    limit: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    customer_group: Mapped[str | None] = mapped_column(String(50), nullable=True)
    score: Mapped[object | None] = mapped_column(Numeric(12, 4), nullable=True)
    score_band: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason_codes: Mapped[list] = mapped_column(JSON)   # in order of importance (searchable)
    rule_hits: Mapped[list | None] = mapped_column(JSON, nullable=True)  # rule ids that matched (searchable)
    result: Mapped[dict] = mapped_column(JSON)
    trace: Mapped[dict] = mapped_column(JSON)
    input_masked: Mapped[dict] = mapped_column(JSON)
    pii_sealed: Mapped[str | None] = mapped_column(String, nullable=True)
    resident_id_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(400), nullable=True, unique=True)
    request_hash: Mapped[str] = mapped_column(String(80))  # key id:HMAC of the request (idempotency)
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)  # of the hashes and seal
    # The applicant's PIPL consent and credit-bureau query authorisation (征信授权) the decision relied on.
    pipl_consent_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    bureau_authorisation_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    # The tamper-evident log (app/storage/chain.py): the order of insertion, the SHA-256 of the
    # row's content, a keyed MAC of it made before the INSERT, and the SHA-256 of the sealed
    # personal data (which the retention purge may remove while the chain still verifies).
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)
    pii_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(100))
    # champion/challenger (migration 0014): champion, challenger (split) or shadow; a shadow row
    # names the champion decision it was decided beside
    arm: Mapped[str | None] = mapped_column(String(20), nullable=True)
    shadow_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # drawdowns and reviews (migration 0018): the keyed hash of the credit line's id (personal data,
    # never stored in clear) and the application decision that granted the line
    line_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    granted_by: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (
        Index("ix_decisions_created_id", "created_at", "id"),
        Index("ix_decisions_policy", "policy_name", "policy_version"),
        Index("ix_decisions_outcome", "outcome"),
        Index("ix_decisions_group", "customer_group"),
        UniqueConstraint("seq", name="uq_decisions_seq"),
        Index("ix_decisions_arm", "arm"),
        Index("ix_decisions_shadow_of", "shadow_of"),
        Index("ix_decisions_line_hash", "line_hash"),
        Index("ix_decisions_granted_by", "granted_by"),
    )


class AccessEvent(Base):
    """Who read, searched, replayed or exported which decisions, or acted on a release: a chained
    log like decisions (append-only; personal data searched for only as its keyed hash)."""
    __tablename__ = "access_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    decision_ids: Mapped[list] = mapped_column(JSON)
    details: Mapped[dict] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)

    __table_args__ = (
        Index("ix_access_events_actor", "actor", "created_at"),
        Index("ix_access_events_action", "action"),
        UniqueConstraint("seq", name="uq_access_events_seq"),
    )


class Release(Base):
    """A policy release: an immutable set of files (the policies and rules, and their rule tests)
    with its content hash and that hash's MAC, and the report of the checks run when it was
    submitted. Its state is the sum of its events (release_events), never an updated column."""
    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    files: Mapped[dict] = mapped_column(JSON)
    test_files: Mapped[dict] = mapped_column(JSON)
    report: Mapped[dict] = mapped_column(JSON)
    report_ok: Mapped[bool] = mapped_column(Boolean)
    bootstrap: Mapped[bool] = mapped_column(Boolean, default=False)  # the folder, imported in development
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    # MAC of its id and content hash (app/services/integrity.py): the content approved, bound
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)


class ReleaseEvent(Base):
    """One step of a release (submitted, approved, rejected, activated, rolled back): who, when,
    why. A chained log like decisions."""
    __tablename__ = "release_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)

    __table_args__ = (UniqueConstraint("seq", name="uq_release_events_seq"),)


class DecisionReview(Base):
    """A human step on a stored decision: an underwriter's review closing a REFER (`closes`, once
    per decision), an applicant's PIPL art. 24 request, or its answer (`answers`, once per request).
    A chained log like decisions."""
    __tablename__ = "decision_reviews"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # review, request, answer
    closes: Mapped[str | None] = mapped_column(String(32), nullable=True)
    answers: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)

    __table_args__ = (UniqueConstraint("closes", name="uq_decision_reviews_closes"),
                      UniqueConstraint("answers", name="uq_decision_reviews_answers"),
                      UniqueConstraint("seq", name="uq_decision_reviews_seq"))


class LogSeal(Base):
    """One link of a chained log: the entry it seals (id, sequence number, content hash) and the
    keyed hash that binds it to the link before. Written by the sealer, off the hot path."""
    __tablename__ = "log_seals"

    log: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(80))
    entry_hash: Mapped[str] = mapped_column(String(80))  # key id:HMAC
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ux_log_seals_entry", "log", "entry_id", unique=True),
                      Index("ix_log_seals_seq", "log", "seq"))


class ApiKey(Base):
    """An API key, stored as its SHA-256 hash, with one role."""
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # input values the key may send, {path: [values]} (app/services/access.py Binds); None: any
    binds: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)  # name, role, hash, binds (identity.py)


class FloorRow(Base):
    """The benchmark floor: one row of the same size as a decision, nothing else."""
    __tablename__ = "bench_floor"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[dict] = mapped_column(JSON)
    trace: Mapped[dict] = mapped_column(JSON)


class Backtest(Base):
    """A backtest run as a background job: what was asked, its state, and when done its report
    and changed decisions. The candidate's files are kept here, never in policy_versions (a draft
    is no served version). Updated as the job moves on: queued, running, done or failed."""
    __tablename__ = "backtests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(100))
    policy_name: Mapped[str] = mapped_column(String(200))
    candidate_hash: Mapped[str] = mapped_column(String(64))
    candidate_version: Mapped[str] = mapped_column(String(100))
    candidate_files: Mapped[dict] = mapped_column(JSON)
    selection: Mapped[dict] = mapped_column(JSON)       # created_from, created_to (ISO) as asked
    decided: Mapped[int] = mapped_column(Integer, default=0)  # rows done so far
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    changes: Mapped[list | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(String, nullable=True)
    # The worker's last sign of life and who it is (host:pid): a job whose heartbeat is older than
    # the lease is reported failed (its worker died) and may be run again.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (Index("ix_backtests_created", "created_at"), Index("ix_backtests_candidate", "candidate_hash"))


class ConsoleAccount(Base):
    """A person who signs in to the console: a username, one role, the password as a scrypt hash."""
    __tablename__ = "console_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)  # username, role, hash (identity.py)


class ConsoleSession(Base):
    """A signed-in console session, held server-side so that signing out and the idle timeout end
    it for good (the browser keeps only the token; the table keeps its SHA-256)."""
    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("console_accounts.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)  # token hash, username (identity.py)


class ListChange(Base):
    """A list change that relaxes an anti-fraud control (a whitelist entry added or extended, a
    blacklist or watchlist entry removed or shortened), waiting for a second person: the proposed
    entry by keyed hash and masked form (never the value), who made it, and who approved or
    rejected it (app/services/lists.py, docs/anti_fraud.md "Four eyes")."""
    __tablename__ = "list_changes"
    __table_args__ = (Index("ix_list_changes_state", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(10))          # add (or update) | remove
    list_name: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    value_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    masked: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200))         # the entry's reason (remove: the entry's as it was)
    source: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the entry changed or removed
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)     # that entry when proposed
    maker: Mapped[str] = mapped_column(String(100))
    maker_role: Mapped[str] = mapped_column(String(20))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(10))           # pending | approved | rejected
    checker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    checker_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(2000), nullable=True)


class ListsVersion(Base):
    """The lists' version: a new random token written in the same transaction as every change to
    list_entries, so that a worker's copy of the lists (app/services/lists.py) knows it is stale.
    One row (id 1); none until the first change."""
    __tablename__ = "lists_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))


class ListEntry(Base):
    """One entry of a blacklist, watchlist or whitelist (docs/anti_fraud.md): the keyed hash of
    the value (never the value), its masked form, why, from where, who added it, when, and until
    when it applies (None: no expiry). A rule matches it with in_list("blacklist", field)."""
    __tablename__ = "list_entries"
    __table_args__ = (UniqueConstraint("list_name", "kind", "value_hash", name="uq_list_entries_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_name: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))          # resident_id, phone, device, employer, card
    value_hash: Mapped[str] = mapped_column(String(64), index=True)
    key_id: Mapped[str] = mapped_column(String(16))        # the key that hashed it (rotation)
    masked: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(100))
    added_by: Mapped[str] = mapped_column(String(210))    # "maker, approved by checker" (migration 0026)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # `key id:HMAC` of the entry's columns (app/storage/lists.py mac_text): an entry written or
    # altered straight in the database has none or a wrong one (migration 0026; None: made before)
    row_mac: Mapped[str | None] = mapped_column(String(80), nullable=True)


class VelocityOwedMark(Base):
    """A stored decision whose anti-fraud marks (its outcome for days_since, its id under the link
    keys of a fraud DECLINE) the shared store refused: written from the stored row by any worker
    once the store answers, then deleted (app/services/velocity.py). Its id and moment only: no
    personal data (migration 0027)."""
    __tablename__ = "velocity_owed_marks"

    decision_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    noted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
