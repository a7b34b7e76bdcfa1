"""Queries on the api_keys table: keys are stored as SHA-256 hashes, never in clear."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.db import add_unique
from app.storage.models import ApiKey


def by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def by_name(session: Session, name: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.name == name))


def add(session: Session, key: ApiKey) -> bool:
    """Insert a key; False when its name is taken."""
    return add_unique(session, key)


def all_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)).all())


def delete(session: Session, name: str) -> bool:
    """Delete the key NAME; False when there is none."""
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        return False
    session.delete(key)
    session.commit()
    return True
