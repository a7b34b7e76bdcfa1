"""Queries for backtests: the stored decisions a backtest re-decides, and the backtest jobs."""
from __future__ import annotations

import datetime
from typing import Any, Iterator

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.storage.db import Database, utc
from app.storage.models import Backtest, Decision


def decisions_between(database: Database, policy_name: str, created_from: datetime.datetime | None,
                      created_to: datetime.datetime | None, page: int = 1000) -> Iterator[Decision]:
    """Every stored decision of a policy made in [created_from, created_to), oldest first, read a
    page at a time (ids sort by creation time) so that any number of rows streams."""
    after = None
    while True:
        statement = _between(select(Decision), policy_name, created_from, created_to).order_by(Decision.id).limit(page)
        if after is not None:
            statement = statement.where(Decision.id > after)
        with database.session() as session:
            rows = list(session.scalars(statement).all())
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].id


def versions_between(session: Session, policy_name: str, created_from: datetime.datetime | None,
                     created_to: datetime.datetime | None) -> list[str]:
    """The hashes of the versions that made the decisions decisions_between reads."""
    statement = _between(select(Decision.policy_hash).distinct(), policy_name, created_from, created_to)
    return sorted(session.scalars(statement).all())


def count_between(session: Session, policy_name: str, created_from: datetime.datetime | None,
                  created_to: datetime.datetime | None) -> int:
    """How many stored decisions decisions_between would read."""
    return session.scalar(_between(select(func.count()).select_from(Decision), policy_name, created_from, created_to))


def _between(statement: Any, policy_name: str, created_from: datetime.datetime | None,
             created_to: datetime.datetime | None) -> Any:
    statement = statement.where(Decision.policy_name == policy_name)
    if created_from is not None:
        statement = statement.where(Decision.created_at >= utc(created_from))
    if created_to is not None:
        statement = statement.where(Decision.created_at < utc(created_to))
    return statement


def add(session: Session, job: Backtest) -> None:
    session.add(job)
    session.commit()


def get(session: Session, job_id: str) -> Backtest | None:
    return session.scalar(select(Backtest).where(Backtest.id == job_id))


def set_fields(session: Session, job_id: str, while_in: tuple[str, ...], **fields: Any) -> bool:
    """Move a job on (its status, progress, heartbeat, result) if its status is still one of
    `while_in`; the one table updated in place. False when it was not (a job declared dead)."""
    moved = session.execute(update(Backtest).where(Backtest.id == job_id, Backtest.status.in_(while_in))
                            .values(**fields)).rowcount
    session.commit()
    return moved == 1


def fail_if_silent(session: Session, job_id: str, while_in: tuple[str, ...], silent_since: datetime.datetime,
                   **fields: Any) -> bool:
    """Mark a job failed (`fields`) if it is still in `while_in` and its worker has not beaten
    since `silent_since` (a job from before heartbeats: not since it was created). One statement,
    so a beat that lands first keeps the job alive."""
    cutoff = utc(silent_since)
    last_sign = or_(Backtest.heartbeat_at < cutoff,
                    (Backtest.heartbeat_at.is_(None)) & (Backtest.created_at < cutoff))
    failed = session.execute(update(Backtest).where(Backtest.id == job_id, Backtest.status.in_(while_in),
                                                    last_sign).values(**fields)).rowcount
    session.commit()
    return failed == 1


def of_candidates(session: Session, candidate_hashes: list[str]) -> list[Backtest]:
    """The jobs that tried any of these versions (a release's policies), newest first."""
    if not candidate_hashes:
        return []
    statement = select(Backtest).where(Backtest.candidate_hash.in_(candidate_hashes))
    return list(session.scalars(statement.order_by(Backtest.created_at.desc(), Backtest.id.desc())).all())
