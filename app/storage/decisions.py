"""Queries on the decisions table: insert one row, find by id or idempotency key, search.

Rows are only ever inserted. Reason codes and rule hits are JSON arrays searched with GIN-indexed
jsonb containment on PostgreSQL (migration 0002) and json_each on SQLite.
"""
from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from app.storage import chain
from app.storage.db import utc
from app.storage.models import Decision, DecisionReview


class DecisionRecord:
    """A decision row as made for its INSERT: every column of the table as an attribute (None
    unless given), without the ORM's instrumentation. A decision is inserted by a plain INSERT
    and never updated, so nothing needs an ORM object of it until it is read back (as a
    `Decision`); building one cost more than hashing the row's 25 KB. Reads (the answer, its
    content hash, a retry's check) use the same attribute names on either."""

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - _COLUMNS.keys()
        if unknown:
            raise TypeError(f"not a column of decisions: {', '.join(sorted(unknown))}")
        self.__dict__.update(_COLUMNS)
        self.__dict__.update(values)


_COLUMNS: dict[str, None] = dict.fromkeys(column.key for column in Decision.__table__.columns)


def insert(session: Session | Connection, row: Decision | DecisionRecord) -> None:
    """Insert one decision with the next sequence number of the chained log (rows are never
    updated) and commit (`session`: an ORM session, or a Core connection: Database.connection)."""
    chain.insert_entry(session, "decisions", row)


def latest_before(session: Session, moment: datetime.datetime) -> datetime.datetime | None:
    """When the latest decision stored before `moment` was made (ix_decisions_created_id)."""
    latest = session.scalar(select(func.max(Decision.created_at)).where(Decision.created_at < moment))
    if latest is not None and latest.tzinfo is None:  # SQLite keeps no zone: the times are UTC
        latest = latest.replace(tzinfo=datetime.timezone.utc)
    return latest


def by_id(session: Session, decision_id: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.id == decision_id))


def by_idempotency_key(session: Session, key: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.idempotency_key == key))


def for_line(session: Session, line_hashes: list[str], limit: int) -> list[Decision]:
    """A credit line's decisions (drawdowns, reviews) and the application decisions that granted
    it, oldest first (ids sort by creation time); at most `limit` rows."""
    on_line = select(Decision.granted_by).where(Decision.line_hash.in_(line_hashes),
                                                Decision.granted_by.is_not(None))
    statement = (select(Decision)
                 .where(Decision.line_hash.in_(line_hashes) | Decision.id.in_(on_line.scalar_subquery()))
                 .order_by(Decision.id.asc()).limit(limit))
    return list(session.scalars(statement).all())


# The columns a search may ask to equal a value (personal data only as its keyed hash).
EQUAL_COLUMNS = {column.key: column for column in (
    Decision.policy_name, Decision.policy_version, Decision.policy_hash, Decision.outcome,
    Decision.customer_group, Decision.channel, Decision.resident_id_hash, Decision.phone_hash,
    Decision.pipl_consent_id, Decision.bureau_authorisation_id, Decision.arm)}


def search(session: Session, *, limit: int, before_id: str | None = None,
           created_from: datetime.datetime | None = None, created_to: datetime.datetime | None = None,
           reason: str | None = None, rule: str | None = None, awaiting_review: bool = False,
           **equal: str | list[str] | None) -> list[Decision]:
    """Up to `limit` rows matching every filter given, newest first; `before_id` is the page
    cursor (ids sort by creation time), `equal` names columns of EQUAL_COLUMNS; `awaiting_review`
    keeps the REFERs no underwriter has closed yet."""
    statement = _filtered(session, select(Decision).order_by(Decision.id.desc()), created_from=created_from,
                          created_to=created_to, reason=reason, rule=rule, awaiting_review=awaiting_review,
                          **equal)
    if before_id is not None:
        statement = statement.where(Decision.id < before_id)
    return list(session.scalars(statement.limit(limit)).all())


def count_by_outcome(session: Session, *, created_from: datetime.datetime | None = None,
                     created_to: datetime.datetime | None = None, reason: str | None = None,
                     rule: str | None = None, awaiting_review: bool = False,
                     **equal: str | list[str] | None) -> dict[str, int]:
    """{outcome: number of rows} over every row matching the filters of `search` (all pages)."""
    statement = _filtered(session, select(Decision.outcome, func.count()).group_by(Decision.outcome),
                          created_from=created_from, created_to=created_to, reason=reason, rule=rule,
                          awaiting_review=awaiting_review, **equal)
    return {outcome: number for outcome, number in session.execute(statement).all()}


def _filtered(session: Session, statement: Any, *, created_from: datetime.datetime | None,
              created_to: datetime.datetime | None, reason: str | None, rule: str | None,
              awaiting_review: bool = False, **equal: str | list[str] | None) -> Any:
    for name, value in equal.items():
        if isinstance(value, list):  # any of several values (a keyed hash under each key)
            statement = statement.where(EQUAL_COLUMNS[name].in_(value))
        elif value is not None:
            statement = statement.where(EQUAL_COLUMNS[name] == value)
    if created_from is not None:
        statement = statement.where(Decision.created_at >= utc(created_from))
    if created_to is not None:
        statement = statement.where(Decision.created_at < utc(created_to))
    postgres = session.get_bind().dialect.name == "postgresql"
    if reason is not None:
        statement = statement.where(holds(Decision.reason_codes, reason, postgres))
    if rule is not None:
        statement = statement.where(holds(Decision.rule_hits, rule, postgres))
    if awaiting_review:  # the underwriting queue: referred, and no review closes it yet
        statement = statement.where(Decision.outcome == "REFER",
                                    ~exists().where(DecisionReview.closes == Decision.id))
    return statement


def holds(column: Any, value: str, postgres: bool) -> ColumnElement[bool]:
    """The JSON array in `column` holds `value`."""
    if postgres:
        return cast(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return select(items.c.value).where(items.c.value == value).exists()



def scored_in_period(session: Session, policy_name: str, first_day: datetime.date,
                     last_day: datetime.date) -> Any:
    """(score, score_band, outcome, trace) of a policy's decisions whose decision date lies in
    [first_day, last_day], read a batch at a time (model monitoring)."""
    statement = (select(Decision.score, Decision.score_band, Decision.outcome, Decision.trace)
                 .where(Decision.policy_name == policy_name,
                        Decision.decision_date >= first_day, Decision.decision_date <= last_day)
                 .execution_options(yield_per=500))
    yield from session.execute(statement)


@dataclass
class ArmCounts:
    """Outcome counts per arm, the policies seen in each, and (champion, shadow) outcome pairs."""
    by_arm: dict[str, Counter]
    pairs: Counter
    policies: dict[str, set]


def arms_in_period(session: Session, champion: str, challenger: str | None,
                   first_day: datetime.date, last_day: datetime.date) -> ArmCounts:
    """The arms of the experiment a champion policy runs over decision dates [first_day,
    last_day]: its own rows, the challenger's split rows, the shadow rows of its decisions."""
    in_period = (Decision.decision_date >= first_day, Decision.decision_date <= last_day)
    champion_ids = select(Decision.id).where(Decision.policy_name == champion, *in_period)
    members = ((Decision.policy_name == champion) | Decision.shadow_of.in_(champion_ids))
    if challenger is not None:
        members = members | ((Decision.policy_name == challenger) & (Decision.arm == "challenger"))
    by_arm: dict[str, Counter] = {}
    policies: dict[str, set] = {}
    for arm, outcome, name, count in session.execute(
            select(Decision.arm, Decision.outcome, Decision.policy_name, func.count())
            .where(Decision.arm.is_not(None), members, *in_period)
            .group_by(Decision.arm, Decision.outcome, Decision.policy_name)):
        by_arm.setdefault(arm, Counter())[outcome] += count
        policies.setdefault(arm, set()).add(name)
    shadow = aliased(Decision)
    pairs: Counter = Counter()
    for champion_outcome, shadow_outcome, count in session.execute(
            select(Decision.outcome, shadow.outcome, func.count())
            .join(shadow, shadow.shadow_of == Decision.id)
            .where(Decision.policy_name == champion, *in_period)
            .group_by(Decision.outcome, shadow.outcome)):
        pairs[(champion_outcome, shadow_outcome)] += count
    return ArmCounts(by_arm, pairs, policies)


def shadow_id(session: Session, decision_id: str) -> str | None:
    """The id of the shadow decision stored beside a champion's, if any."""
    return session.scalar(select(Decision.id).where(Decision.shadow_of == decision_id).limit(1))


def page_for_rebuild(session: Session, start: datetime.datetime, end: datetime.datetime,
                     after: tuple[datetime.datetime, str] | None, limit: int) -> list[Any]:
    """Up to `limit` decisions made in [start, end], oldest first, after `after` ((created_at, id)
    of the last one of the page before; ix_decisions_created_id), without the shadow rows of
    champion/challenger: the columns a rebuild of the anti-fraud memory reads (`_REBUILD_COLUMNS`)."""
    page = (select(Decision.id)
            .where(Decision.created_at >= utc(start), Decision.created_at <= utc(end),
                   Decision.shadow_of.is_(None))
            .order_by(Decision.created_at, Decision.id).limit(limit))
    if after is not None:
        moment, last_id = utc(after[0]), after[1]
        # the range first (the index seeks to it: no page reads the pages before it again), then
        # the rows of the same moment already read left out
        page = page.where(Decision.created_at >= moment,
                          (Decision.created_at > moment) | (Decision.id > last_id))
    ids = page.subquery()
    statement = (select(*_rebuild_columns())
                 .join(ids, Decision.id == ids.c.id)
                 .order_by(Decision.created_at, Decision.id))
    return list(session.execute(statement).all())


def for_rebuild(session: Session, decision_ids: list[str]) -> list[Any]:
    """The decisions of these ids (those still stored), oldest first, with the columns a rebuild
    of the anti-fraud memory reads: the marks a worker owes (app/services/velocity_rebuild.py)."""
    if not decision_ids:
        return []
    statement = (select(*_rebuild_columns()).where(Decision.id.in_(decision_ids))
                 .order_by(Decision.created_at, Decision.id))
    return list(session.execute(statement).all())


def _rebuild_columns() -> list[Any]:
    """What a rebuild reads of a decision: every column its content hash covers (its MAC is
    checked before it is replayed: app/services/records.py `intact`), the result and the trace as
    the text stored (hashed as they are: the service stores them in their canonical form, so
    neither is parsed), and the trace's `shared` section (taken out of the page's rows alone)."""
    names = (*chain.DECISION_COLUMNS, *chain.OPTIONAL_DECISION_COLUMNS, "input_masked", "pii_sealed",
             "content_hash", "row_mac")
    return [*(getattr(Decision, name) for name in names),
            cast(Decision.result, Text).label("result"), cast(Decision.trace, Text).label("trace"),
            Decision.trace["shared"].label("shared")]


def count_between(session: Session, start: datetime.datetime, end: datetime.datetime) -> int:
    """How many decisions (bar shadow rows) were made in [start, end]."""
    return session.scalar(select(func.count()).select_from(Decision).where(
        Decision.created_at >= utc(start), Decision.created_at <= utc(end),
        Decision.shadow_of.is_(None))) or 0


def earliest_since(session: Session, start: datetime.datetime) -> datetime.datetime | None:
    """When the earliest decision made at or after `start` was made."""
    earliest = session.scalar(select(func.min(Decision.created_at)).where(Decision.created_at >= utc(start)))
    if earliest is not None and earliest.tzinfo is None:  # SQLite keeps no zone: the times are UTC
        earliest = earliest.replace(tzinfo=datetime.timezone.utc)
    return earliest
