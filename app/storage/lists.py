"""Queries on list_entries: blacklist, watchlist and whitelist entries by keyed hash."""
from __future__ import annotations

import datetime
from typing import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.storage.models import ListEntry

# What an import may change on an entry that exists (same list, same value).
_UPDATABLE = ("kind", "masked", "reason", "source", "expires_at")


def matching(session: Session, value_hashes: Iterable[str], now: datetime.datetime) -> set[tuple[str, str]]:
    """(list name, value hash) of every entry in force now among the hashes."""
    hashes = sorted(set(value_hashes))
    if not hashes:
        return set()
    rows = session.execute(select(ListEntry.list_name, ListEntry.value_hash)
                           .where(ListEntry.value_hash.in_(hashes))
                           .where(or_(ListEntry.expires_at.is_(None), ListEntry.expires_at > now)))
    return {(name, value_hash) for name, value_hash in rows}


def entry(session: Session, list_name: str, value_hash: str) -> ListEntry | None:
    return session.scalar(select(ListEntry).where(ListEntry.list_name == list_name,
                                                  ListEntry.value_hash == value_hash))


def upsert(session: Session, row: ListEntry) -> str:
    """Add the entry, or bring the one with the same list and value up to date (without
    committing): "added", "updated" or "unchanged"."""
    found = entry(session, row.list_name, row.value_hash)
    if found is None:
        session.add(row)
        session.flush()
        return "added"
    changed = False
    for name in _UPDATABLE:
        new = getattr(row, name)
        old = getattr(found, name)
        if isinstance(old, datetime.datetime) and old.tzinfo is None:  # SQLite reads back naive UTC
            old = old.replace(tzinfo=datetime.timezone.utc)
        if new != old:
            setattr(found, name, new)
            changed = True
    if changed:
        session.flush()
    return "updated" if changed else "unchanged"


def page(session: Session, list_name: str, after_id: int | None, limit: int) -> list[ListEntry]:
    query = select(ListEntry).where(ListEntry.list_name == list_name).order_by(ListEntry.id).limit(limit)
    if after_id is not None:
        query = query.where(ListEntry.id > after_id)
    return list(session.scalars(query).all())


def remove(session: Session, list_name: str, entry_id: int) -> bool:
    found = session.scalar(select(ListEntry).where(ListEntry.list_name == list_name,
                                                   ListEntry.id == entry_id))
    if found is None:
        return False
    session.delete(found)
    session.commit()
    return True
