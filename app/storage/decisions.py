"""Queries on the decisions table: insert one row, find by id or idempotency key, search.

Rows are only ever inserted. Reason codes and rule hits are JSON arrays searched with GIN-indexed
jsonb containment on PostgreSQL (migration 0002) and json_each on SQLite.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.storage.db import insert_row
from app.storage.models import Decision


def insert(session: Session, row: Decision) -> None:
    """Insert one decision (rows are never updated) and commit."""
    insert_row(session, row)


def by_id(session: Session, decision_id: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.id == decision_id))


def by_idempotency_key(session: Session, key: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.idempotency_key == key))


@dataclass(frozen=True)
class Filters:
    """What a compliance search may ask; personal data only as keyed hashes."""

    policy: str | None = None
    version: str | None = None
    hash: str | None = None
    outcome: str | None = None
    group: str | None = None
    channel: str | None = None
    reason: str | None = None
    rule: str | None = None
    created_from: datetime.datetime | None = None
    created_to: datetime.datetime | None = None
    resident_id_hash: str | None = None
    phone_hash: str | None = None
    before_id: str | None = None  # the page cursor: ids sort by creation time


_EQUAL = {"policy": Decision.policy_name, "version": Decision.policy_version,
          "hash": Decision.policy_hash, "outcome": Decision.outcome,
          "group": Decision.customer_group, "channel": Decision.channel,
          "resident_id_hash": Decision.resident_id_hash, "phone_hash": Decision.phone_hash}


def search(session: Session, filters: Filters, limit: int) -> list[Decision]:
    """Up to `limit` rows matching every filter, newest first."""
    return list(session.scalars(_statement(session, filters).limit(limit)).all())


def _statement(session: Session, filters: Filters) -> Select[Any]:
    statement = select(Decision).order_by(Decision.id.desc())
    for name, column in _EQUAL.items():
        value = getattr(filters, name)
        if value is not None:
            statement = statement.where(column == value)
    if filters.created_from is not None:
        statement = statement.where(Decision.created_at >= _utc(filters.created_from))
    if filters.created_to is not None:
        statement = statement.where(Decision.created_at < _utc(filters.created_to))
    postgres = session.get_bind().dialect.name == "postgresql"
    if filters.reason is not None:
        statement = statement.where(_holds(Decision.reason_codes, filters.reason, postgres))
    if filters.rule is not None:
        statement = statement.where(_holds(Decision.rule_hits, filters.rule, postgres))
    if filters.before_id is not None:
        statement = statement.where(Decision.id < filters.before_id)
    return statement


def _holds(column: Any, value: str, postgres: bool) -> ColumnElement[bool]:
    """The JSON array in `column` holds `value`."""
    if postgres:
        return cast(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return select(items.c.value).where(items.c.value == value).exists()


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)
