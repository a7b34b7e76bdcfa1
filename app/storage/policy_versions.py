"""Queries on the policy_versions table: every version that was served, with all its files."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.storage.db import add_unique
from app.storage.models import Decision, PolicyVersion


def exists(session: Session, policy_hash: str) -> bool:
    return session.scalar(select(PolicyVersion.hash).where(PolicyVersion.hash == policy_hash)) is not None


def add(session: Session, version: PolicyVersion) -> bool:
    """Insert a version unless it is there already; False when another worker recorded it first."""
    return not exists(session, version.hash) and add_unique(session, version)


def matching(session: Session, name: str, *, hash_prefix: str | None = None,
             version: str | None = None, policy_hash: str | None = None) -> list[PolicyVersion]:
    """Versions of policy `name` with that exact hash, a hash starting with the prefix (taken
    literally), or that version string."""
    statement = select(PolicyVersion).where(PolicyVersion.name == name)
    if policy_hash is not None:
        statement = statement.where(PolicyVersion.hash == policy_hash)
    if hash_prefix is not None:
        statement = statement.where(PolicyVersion.hash.startswith(hash_prefix, autoescape=True))
    if version is not None:
        statement = statement.where(PolicyVersion.version == version)
    return list(session.scalars(statement).all())


def all_versions(session: Session) -> list[PolicyVersion]:
    """Every stored version, the one recorded last first."""
    return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.first_seen.desc(),
                                                               PolicyVersion.hash)).all())


def by_hash(session: Session, policy_hash: str) -> PolicyVersion | None:
    return session.get(PolicyVersion, policy_hash)


def named_but_missing(session: Session) -> list[tuple[str, str, str, int]]:
    """(hash, policy name, version string, how many decisions) of the versions stored decisions
    name that are not stored: one pass over the decisions (verify reads the whole log anyway),
    anti-joined to the versions' primary key."""
    stored = select(PolicyVersion.hash).where(PolicyVersion.hash == Decision.policy_hash)
    statement = (select(Decision.policy_hash, func.min(Decision.policy_name), func.min(Decision.policy_version),
                        func.count())
                 .where(~stored.exists()).group_by(Decision.policy_hash).order_by(Decision.policy_hash))
    return [tuple(row) for row in session.execute(statement)]
