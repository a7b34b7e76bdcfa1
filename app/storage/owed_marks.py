"""The anti-fraud marks owed (table velocity_owed_marks, migration 0027): stored decisions whose
marks the shared store refused, by id, until a worker or a rebuild writes them
(app/services/velocity.py, app/services/velocity_rebuild.py)."""
from __future__ import annotations

import datetime
from typing import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.storage.db import utc
from app.storage.models import VelocityOwedMark


def note(session: Session, decision_id: str, decided_at: datetime.datetime, noted_at: datetime.datetime) -> None:
    """Owe a stored decision's marks and commit (once: owing them again changes nothing)."""
    session.add(VelocityOwedMark(decision_id=decision_id, decided_at=utc(decided_at), noted_at=utc(noted_at)))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


def oldest(session: Session, limit: int) -> list[str]:
    """The ids of up to `limit` decisions whose marks are owed, the earliest decided first."""
    return list(session.scalars(select(VelocityOwedMark.decision_id)
                                .order_by(VelocityOwedMark.decided_at, VelocityOwedMark.decision_id)
                                .limit(limit)))


def between(session: Session, start: datetime.datetime, end: datetime.datetime) -> set[str]:
    """The ids of the decisions made in [start, end] whose marks are owed."""
    return set(session.scalars(select(VelocityOwedMark.decision_id).where(
        VelocityOwedMark.decided_at >= utc(start), VelocityOwedMark.decided_at <= utc(end))))


def paid(session: Session, decision_ids: Iterable[str]) -> int:
    """The marks of these decisions are written (or can never be): no longer owed. Commits."""
    ids = list(decision_ids)
    if not ids:
        return 0
    gone = session.execute(delete(VelocityOwedMark).where(VelocityOwedMark.decision_id.in_(ids))).rowcount
    session.commit()
    return gone


def summary(session: Session) -> tuple[int, datetime.datetime | None]:
    """How many decisions' marks are owed, and when the earliest of them was decided."""
    count, earliest = session.execute(select(func.count(), func.min(VelocityOwedMark.decided_at))).one()
    if earliest is not None and earliest.tzinfo is None:  # SQLite keeps no zone: the times are UTC
        earliest = earliest.replace(tzinfo=datetime.timezone.utc)
    return int(count), earliest

