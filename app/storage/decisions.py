"""Queries on the decisions table: insert one row, find by id or idempotency key, search.

Rows are only ever inserted. Reason codes and rule hits are JSON arrays searched with GIN-indexed
jsonb containment on PostgreSQL (migration 0002) and json_each on SQLite.
"""
from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import ColumnElement, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.storage import chain
from app.storage.models import Decision


def insert(session: Session, row: Decision) -> None:
    """Insert one decision with the next sequence number of the chained log (rows are never
    updated) and commit."""
    chain.insert_entry(session, "decisions", row)


def by_id(session: Session, decision_id: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.id == decision_id))


def by_idempotency_key(session: Session, key: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.idempotency_key == key))


# The columns a search may ask to equal a value (personal data only as its keyed hash).
EQUAL_COLUMNS = {column.key: column for column in (
    Decision.policy_name, Decision.policy_version, Decision.policy_hash, Decision.outcome,
    Decision.customer_group, Decision.channel, Decision.resident_id_hash, Decision.phone_hash)}


def search(session: Session, *, limit: int, before_id: str | None = None,
           created_from: datetime.datetime | None = None, created_to: datetime.datetime | None = None,
           reason: str | None = None, rule: str | None = None,
           **equal: str | list[str] | None) -> list[Decision]:
    """Up to `limit` rows matching every filter given, newest first; `before_id` is the page
    cursor (ids sort by creation time), `equal` names columns of EQUAL_COLUMNS."""
    statement = _filtered(session, select(Decision).order_by(Decision.id.desc()), created_from=created_from,
                          created_to=created_to, reason=reason, rule=rule, **equal)
    if before_id is not None:
        statement = statement.where(Decision.id < before_id)
    return list(session.scalars(statement.limit(limit)).all())


def count_by_outcome(session: Session, *, created_from: datetime.datetime | None = None,
                     created_to: datetime.datetime | None = None, reason: str | None = None,
                     rule: str | None = None, **equal: str | list[str] | None) -> dict[str, int]:
    """{outcome: number of rows} over every row matching the filters of `search` (all pages)."""
    statement = _filtered(session, select(Decision.outcome, func.count()).group_by(Decision.outcome),
                          created_from=created_from, created_to=created_to, reason=reason, rule=rule, **equal)
    return {outcome: number for outcome, number in session.execute(statement).all()}


def _filtered(session: Session, statement: Any, *, created_from: datetime.datetime | None,
              created_to: datetime.datetime | None, reason: str | None, rule: str | None,
              **equal: str | list[str] | None) -> Any:
    for name, value in equal.items():
        if isinstance(value, list):  # any of several values (a keyed hash under each key)
            statement = statement.where(EQUAL_COLUMNS[name].in_(value))
        elif value is not None:
            statement = statement.where(EQUAL_COLUMNS[name] == value)
    if created_from is not None:
        statement = statement.where(Decision.created_at >= _utc(created_from))
    if created_to is not None:
        statement = statement.where(Decision.created_at < _utc(created_to))
    postgres = session.get_bind().dialect.name == "postgresql"
    if reason is not None:
        statement = statement.where(holds(Decision.reason_codes, reason, postgres))
    if rule is not None:
        statement = statement.where(holds(Decision.rule_hits, rule, postgres))
    return statement


def holds(column: Any, value: str, postgres: bool) -> ColumnElement[bool]:
    """The JSON array in `column` holds `value`."""
    if postgres:
        return cast(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return select(items.c.value).where(items.c.value == value).exists()


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)
