"""Queries on releases and their events (both only ever inserted)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage import chain
from app.storage.db import add_unique
from app.storage.models import LogSeal, Release, ReleaseEvent


def add(session: Session, release: Release) -> bool:
    """Insert a release; False when a release with the same content exists already."""
    return add_unique(session, release)


def by_id(session: Session, release_id: str) -> Release | None:
    return session.get(Release, release_id)


def by_prefix(session: Session, prefix: str) -> list[Release]:
    """Releases whose id or content hash starts with the prefix (taken literally)."""
    return list(session.scalars(select(Release).where(
        Release.id.startswith(prefix, autoescape=True) | Release.content_hash.startswith(prefix, autoescape=True))))


def by_content_hash(session: Session, content_hash: str) -> Release | None:
    return session.scalar(select(Release).where(Release.content_hash == content_hash))


def all_releases(session: Session) -> list[Release]:
    return list(session.scalars(select(Release).order_by(Release.id)))


def append_event(session: Session, event: ReleaseEvent) -> None:
    chain.insert_entry(session, "releases", event)


def events(session: Session, release_id: str | None = None) -> list[ReleaseEvent]:
    """Events in the order they happened (of one release, or all)."""
    statement = select(ReleaseEvent).order_by(ReleaseEvent.seq)
    if release_id is not None:
        statement = statement.where(ReleaseEvent.release_id == release_id)
    return list(session.scalars(statement))


def activations(session: Session, limit: int | None = None, below: int | None = None) -> list[ReleaseEvent]:
    """Activations and rollbacks, newest first: all, or `limit` of them older than sequence
    number `below`."""
    statement = select(ReleaseEvent).where(ReleaseEvent.action.in_(("activated", "rolled_back")))
    if below is not None:
        statement = statement.where(ReleaseEvent.seq < below)
    statement = statement.order_by(ReleaseEvent.seq.desc())
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def sealed_but_missing(session: Session) -> list[str]:
    """The ids of release events the chained log sealed that are no longer stored (the releases
    log is short: its seals are read whole, an index range on the seals' primary key)."""
    stored = select(ReleaseEvent.id).where(ReleaseEvent.id == LogSeal.entry_id)
    return list(session.scalars(select(LogSeal.entry_id).where(LogSeal.log == "releases", ~stored.exists())
                                .order_by(LogSeal.position)))
