"""Queries on the access log: append one event, read them back with filters (newest first)."""
from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage import chain
from app.storage.decisions import holds
from app.storage.models import AccessEvent


def append(session: Session, event: AccessEvent, commit: bool = True) -> None:
    chain.insert_entry(session, "access", event, commit)


def with_actions(session: Session, actions: tuple[str, ...], page: int = 1000):
    """The events of the given actions in the order they were logged (sequence), a page at a time."""
    after = 0
    while True:
        rows = list(session.scalars(select(AccessEvent).where(AccessEvent.action.in_(actions),
                                                              AccessEvent.seq > after)
                                    .order_by(AccessEvent.seq).limit(page)))
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].seq


def search(session: Session, *, limit: int, before_id: str | None = None, actor: str | None = None,
           action: str | None = None, decision_id: str | None = None,
           created_from: datetime.datetime | None = None,
           created_to: datetime.datetime | None = None) -> list[AccessEvent]:
    statement = select(AccessEvent).order_by(AccessEvent.id.desc())
    if actor is not None:
        statement = statement.where(AccessEvent.actor == actor)
    if action is not None:
        statement = statement.where(AccessEvent.action == action)
    if created_from is not None:
        statement = statement.where(AccessEvent.created_at >= created_from)
    if created_to is not None:
        statement = statement.where(AccessEvent.created_at < created_to)
    if before_id is not None:
        statement = statement.where(AccessEvent.id < before_id)
    if decision_id is not None:
        postgres = session.get_bind().dialect.name == "postgresql"
        statement = statement.where(holds(AccessEvent.decision_ids, decision_id, postgres))
    return list(session.scalars(statement.limit(limit)))
