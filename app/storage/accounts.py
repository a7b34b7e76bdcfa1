"""Queries on console_accounts and console_sessions: passwords only as KDF hashes, session tokens
only as SHA-256 hashes."""
from __future__ import annotations

import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.storage.db import add_unique
from app.storage.models import ConsoleAccount, ConsoleSession


def by_username(session: Session, username: str) -> ConsoleAccount | None:
    return session.scalar(select(ConsoleAccount).where(ConsoleAccount.username == username))


def add(session: Session, account: ConsoleAccount) -> bool:
    """Insert an account; False when its username is taken."""
    return add_unique(session, account)


def all_accounts(session: Session) -> list[ConsoleAccount]:
    return list(session.scalars(select(ConsoleAccount).order_by(ConsoleAccount.username)).all())


def set_password(session: Session, username: str, password_hash: str, row_mac: str) -> bool:
    """Replace the password hash (and the row's MAC) and end the account's sessions; False when
    there is no such account."""
    account = by_username(session, username)
    if account is None:
        return False
    account.password_hash = password_hash
    account.row_mac = row_mac
    session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))
    session.commit()
    return True


def delete_account(session: Session, username: str) -> bool:
    account = by_username(session, username)
    if account is None:
        return False
    session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))
    session.delete(account)
    session.commit()
    return True


def start_session(session: Session, row: ConsoleSession) -> None:
    session.add(row)
    session.commit()


def session_with_account(session: Session, token_hash: str) -> tuple[ConsoleSession, ConsoleAccount] | None:
    found = session.execute(select(ConsoleSession, ConsoleAccount)
                            .join(ConsoleAccount, ConsoleAccount.id == ConsoleSession.account_id)
                            .where(ConsoleSession.token_hash == token_hash)).first()
    return (found[0], found[1]) if found else None


def touch_session(session: Session, token_hash: str, now: datetime.datetime) -> None:
    session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == token_hash)
                    .values(last_seen=now))
    session.commit()


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))
    session.commit()
