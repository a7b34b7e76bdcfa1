"""Queries on list_entries: blacklist, watchlist and whitelist entries by keyed hash."""
from __future__ import annotations

import datetime
import os
from typing import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.storage import chain
from app.storage.models import ListChange, ListEntry, ListsVersion

MAC_LOG = "list_entries"
# What an entry's row MAC covers: every column but the MAC (the id too: a row copied under another
# id does not keep it).
ENTRY_COLUMNS = ("id", "list_name", "kind", "value_hash", "key_id", "masked", "reason", "source",
                 "added_by", "added_at", "expires_at")

# What an import may change on an entry that exists (same list, same value).
_UPDATABLE = ("masked", "reason", "source", "expires_at")


def matching(session: Session, value_hashes: Iterable[str], now: datetime.datetime
             ) -> set[tuple[str, str, str]]:
    """(list name, kind, value hash) of every entry in force now among the hashes."""
    hashes = sorted(set(value_hashes))
    if not hashes:
        return set()
    rows = session.execute(select(ListEntry.list_name, ListEntry.kind, ListEntry.value_hash)
                           .where(ListEntry.value_hash.in_(hashes))
                           .where(or_(ListEntry.expires_at.is_(None), ListEntry.expires_at > now)))
    return {(name, kind, value_hash) for name, kind, value_hash in rows}


def in_force(session: Session, now: datetime.datetime, limit: int
             ) -> dict[tuple[str, str, str], datetime.datetime | None] | None:
    """Every entry in force now: {(list name, kind, value hash): its expiry or None}; None when
    there are more than `limit` of them."""
    live = or_(ListEntry.expires_at.is_(None), ListEntry.expires_at > now)
    if session.scalar(select(func.count()).select_from(ListEntry).where(live)) > limit:
        return None
    rows = session.execute(select(ListEntry.list_name, ListEntry.kind, ListEntry.value_hash,
                                  ListEntry.expires_at).where(live))
    return {(name, kind, value_hash): _utc(expires) for name, kind, value_hash, expires in rows}


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite reads back naive UTC
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def version(session: Session) -> str | None:
    """The lists' version token (None before the first change)."""
    return session.scalar(select(ListsVersion.token).where(ListsVersion.id == 1))


def changed(session: Session) -> None:
    """Write a new version token, in the transaction that changes list_entries (without
    committing): every copy of the lists made before it is stale from its commit on. A random
    token, not a counter, so that a table emptied and written again never repeats a version."""
    token = os.urandom(16).hex()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ListsVersion).values(id=1, token=token)
                    .on_conflict_do_update(index_elements=[ListsVersion.id], set_={"token": token}))


def entry(session: Session, list_name: str, kind: str, value_hash: str) -> ListEntry | None:
    return session.scalar(select(ListEntry).where(ListEntry.list_name == list_name, ListEntry.kind == kind,
                                                  ListEntry.value_hash == value_hash))


def upsert(session: Session, row: ListEntry, also: tuple[str, ...] = ()) -> str:
    """Add the entry, or bring the one with the same list, kind and value up to date (its reason,
    source, expiry and the columns named in `also`), without committing: "added", "updated" or
    "unchanged". A caller that changed entries writes a new version (`changed`) before it commits."""
    found = entry(session, row.list_name, row.kind, row.value_hash)
    if found is None:
        session.add(row)
        session.flush()
        return "added"
    updated = False
    for name in _UPDATABLE + also:
        new = getattr(row, name)
        old = getattr(found, name)
        if isinstance(old, datetime.datetime) and old.tzinfo is None:  # SQLite reads back naive UTC
            old = old.replace(tzinfo=datetime.timezone.utc)
        if new != old:
            setattr(found, name, new)
            updated = True
    if updated:
        session.flush()
    return "updated" if updated else "unchanged"


def page(session: Session, list_name: str, after_id: int | None, limit: int) -> list[ListEntry]:
    query = select(ListEntry).where(ListEntry.list_name == list_name).order_by(ListEntry.id).limit(limit)
    if after_id is not None:
        query = query.where(ListEntry.id > after_id)
    return list(session.scalars(query).all())


def entry_by_id(session: Session, list_name: str, entry_id: int) -> ListEntry | None:
    return session.scalar(select(ListEntry).where(ListEntry.list_name == list_name, ListEntry.id == entry_id))


def delete(session: Session, row: ListEntry) -> None:
    """Delete the entry and write a new version (without committing)."""
    session.delete(row)
    session.flush()
    changed(session)


def add_change(session: Session, change: ListChange) -> ListChange:
    """Store a proposed list change (without committing)."""
    session.add(change)
    session.flush()
    return change


def pending_like(session: Session, change: ListChange) -> ListChange | None:
    """A pending change by the same maker proposing the same thing (action, entry, reason, source,
    expiry): importing a file again proposes nothing new."""
    found = session.scalars(select(ListChange).where(
        ListChange.state == "pending", ListChange.maker == change.maker, ListChange.action == change.action,
        ListChange.list_name == change.list_name, ListChange.kind == change.kind,
        ListChange.value_hash == change.value_hash, ListChange.reason == change.reason,
        ListChange.source == change.source)).all()
    return next((row for row in found if _utc(row.expires_at) == _utc(change.expires_at)), None)


def change(session: Session, change_id: int, lock: bool = False) -> ListChange | None:
    query = select(ListChange).where(ListChange.id == change_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def changes(session: Session, state: str | None, after_id: int | None, limit: int) -> list[ListChange]:
    query = select(ListChange).order_by(ListChange.id).limit(limit)
    if state is not None:
        query = query.where(ListChange.state == state)
    if after_id is not None:
        query = query.where(ListChange.id > after_id)
    return list(session.scalars(query).all())


def mac_text(row: ListEntry) -> str:
    """The text an entry's row MAC is made of (its columns, canonical; times in UTC)."""
    digest = chain.sha256(chain.dumps({name: chain.plain(getattr(row, name)) for name in ENTRY_COLUMNS}))
    return chain.mac_text(MAC_LOG, str(row.id), digest)


def rows_in_force(session: Session, list_name: str, now: datetime.datetime,
                  value_hashes: Iterable[str] | None = None) -> list[ListEntry]:
    """A list's entries in force now (those with these hashes, if given), whole."""
    query = select(ListEntry).where(ListEntry.list_name == list_name).where(
        or_(ListEntry.expires_at.is_(None), ListEntry.expires_at > now))
    if value_hashes is not None:
        query = query.where(ListEntry.value_hash.in_(sorted(set(value_hashes))))
    return list(session.scalars(query).all())


def every_entry(session: Session, page: int = 1000) -> Iterable[ListEntry]:
    """Every entry, a page at a time, in id order."""
    after = 0
    while True:
        rows = list(session.scalars(select(ListEntry).where(ListEntry.id > after)
                                    .order_by(ListEntry.id).limit(page)).all())
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].id


def without_mac(session: Session) -> list[ListEntry]:
    return list(session.scalars(select(ListEntry).where(ListEntry.row_mac.is_(None)).order_by(ListEntry.id)).all())
