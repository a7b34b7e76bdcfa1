"""Queries on decision_reviews: an underwriter's closing of a referral, an applicant's request for
explanation or human review (PIPL art. 24) and its answer; rows are only ever inserted."""
from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.storage import chain
from app.storage.db import utc
from app.storage.models import Decision, DecisionReview


def append(session: Session, note: DecisionReview) -> bool:
    """Insert one note; False when the decision already has a closing review (unique `closes`)."""
    try:
        chain.insert_entry(session, "reviews", note)
    except IntegrityError:
        session.rollback()
        return False
    return True


def for_decision(session: Session, decision_id: str) -> list[DecisionReview]:
    return list(session.scalars(select(DecisionReview).where(DecisionReview.decision_id == decision_id)
                                .order_by(DecisionReview.seq)))


def by_id(session: Session, note_id: str) -> DecisionReview | None:
    return session.get(DecisionReview, note_id)


def closing(session: Session, decision_ids: list[str]) -> dict[str, DecisionReview]:
    """{decision id: the review that closed it} of those of these decisions that a review closed
    (the anti-fraud memory marks a DECLINE on review: app/services/velocity_rebuild.py)."""
    if not decision_ids:
        return {}
    notes = session.scalars(select(DecisionReview).where(DecisionReview.closes.in_(decision_ids)))
    return {note.closes: note for note in notes}


def closing_earlier(session: Session, start: datetime.datetime, end: datetime.datetime, after_seq: int,
                    limit: int) -> list[DecisionReview]:
    """Up to `limit` reviews made in [start, end] that closed a decision made before `start` (bar
    the shadow rows of champion/challenger), in the log's order after sequence number `after_seq`
    (the last one of the page before; 0 for the first): what a rebuild of the anti-fraud memory
    from `start` reads besides the decisions made since (app/services/velocity_rebuild.py). Paged
    on the log's unique sequence (uq_decision_reviews_seq), so the pages together read the log once."""
    statement = (select(DecisionReview).join(Decision, Decision.id == DecisionReview.closes)
                 .where(DecisionReview.seq > after_seq,
                        DecisionReview.created_at >= utc(start), DecisionReview.created_at <= utc(end),
                        Decision.created_at < utc(start), Decision.shadow_of.is_(None))
                 .order_by(DecisionReview.seq).limit(limit))
    return list(session.scalars(statement))

