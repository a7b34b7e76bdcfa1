"""Who a stored key, console account or console session says it is, bound by a MAC.

An API key is stored as the SHA-256 of the key with a name and a role; a console account as a
username, a role and a scrypt hash; a console session as the SHA-256 of its token and the account
it belongs to. Each of these can be computed by anyone: until 2026-11-30 someone who could write
the database (a DBA, a stolen database password) could insert an approver key whose key they
chose, or a session for someone else's account, and then approve their own policy release under a
second name (maker-checker), whitelist a device, or read decisions as compliance, and nothing
said the row had not been made by the service.

Now each row carries a MAC under the log key (PersonalData.mac) of what makes it an identity: a
key's name, role and hash; an account's username, role and password hash; a session's token hash
and its account's username. A row whose MAC is not its own authenticates nobody (logged,
critical: `identity_forged`), and `flask audit verify` names it. Rows stored before have no MAC:
`flask audit vouch` gives them one (an admin vouches for them as they are, recorded), else they
do not authenticate. A MAC is checked on every authentication: one HMAC-SHA256, about a microsecond.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from app import metrics
from app.privacy import PersonalData
from app.services.errors import Forbidden, InvalidInput
from app.storage import accounts, api_keys, chain
from app.storage.db import Database
from app.storage.models import ApiKey, ConsoleAccount, ConsoleSession

log = logging.getLogger("firefly.access")


def _key_text(row: ApiKey) -> str:
    binds = json.dumps(row.binds, sort_keys=True, separators=(",", ":")) if row.binds else ""
    return chain.mac_text("api_keys", row.name, f"{row.role}|{row.key_hash}|{binds}")


def _account_text(row: ConsoleAccount) -> str:
    return chain.mac_text("console_accounts", row.username, f"{row.role}|{row.password_hash}")


def _session_text(row: ConsoleSession, username: str) -> str:
    return chain.mac_text("console_sessions", row.token_hash, username)


def key_mac(personal: PersonalData, row: ApiKey) -> str:
    return personal.mac(_key_text(row))


def account_mac(personal: PersonalData, row: ConsoleAccount) -> str:
    return personal.mac(_account_text(row))


def session_mac(personal: PersonalData, row: ConsoleSession, username: str) -> str:
    return personal.mac(_session_text(row, username))


def genuine_key(personal: PersonalData, row: ApiKey) -> bool:
    return _genuine(personal, row.row_mac, _key_text(row), "api key", row.name)


def genuine_account(personal: PersonalData, row: ConsoleAccount) -> bool:
    return _genuine(personal, row.row_mac, _account_text(row), "console account", row.username)


def genuine_session(personal: PersonalData, row: ConsoleSession, account: ConsoleAccount) -> bool:
    return (_genuine(personal, row.row_mac, _session_text(row, account.username), "console session",
                     account.username)
            and genuine_account(personal, account))


def _genuine(personal: PersonalData, mac: str | None, text: str, what: str, name: str) -> bool:
    if personal.mac_matches(mac, text):
        return True
    metrics.observe_tampering(what.replace(" ", "_"))  # api_key, console_account, console_session
    log.critical(f"a stored {what} was not made by this service (no MAC of its own); it authenticates nobody",
                 extra={"event": "identity_forged", "what": what, "identity": name,
                        "mac": "missing" if mac is None else "wrong"})
    return False


class Identities:
    """Every stored key and console account checked (`flask audit verify`), and those stored
    before MACs given one (`flask audit vouch`)."""

    def __init__(self, database: Database, personal: PersonalData, audit: Any) -> None:
        self.database = database
        self.personal = personal
        self.audit = audit  # an AccessAudit: what `flask audit vouch` vouched for, in the same transaction

    def verify(self) -> dict[str, Any]:
        with self.database.session() as session:
            keys = api_keys.all_keys(session)
            people = accounts.all_accounts(session)
            found = ([{"api_key": k.name, "problem": _problem(k.row_mac)} for k in keys
                      if not self.personal.mac_matches(k.row_mac, _key_text(k))]
                     + [{"account": a.username, "problem": _problem(a.row_mac)} for a in people
                        if not self.personal.mac_matches(a.row_mac, _account_text(a))])
        return {"findings": found, "checked": {"api_keys": len(keys), "accounts": len(people)}}

    def vouch(self, who: Any, reason: str) -> dict[str, list[str]]:
        """A MAC for every key and account stored without one: an admin vouches for them as they
        are (`flask audit vouch`), recorded in the access log with the reason in the same
        transaction. Returns {"api_keys": names, "accounts": usernames}."""
        may_vouch(who, reason)
        keys, people = [], []
        with self.database.session() as session:
            for key in api_keys.all_keys(session):
                if key.row_mac is None:
                    key.row_mac = key_mac(self.personal, key)
                    keys.append(key.name)
            for account in accounts.all_accounts(session):
                if account.row_mac is None:
                    account.row_mac = account_mac(self.personal, account)
                    people.append(account.username)
            if keys or people:
                self.audit.append(session, who, "identities.vouch",
                                  {"reason": reason, "api_keys": keys, "accounts": people})
            session.commit()
        return {"api_keys": keys, "accounts": people}


def may_vouch(who: Any, reason: str) -> None:
    """Vouching for rows stored before they had MACs (`flask audit vouch`: releases, keys,
    accounts) is an admin's act, with a reason."""
    if who.role != "admin":
        raise Forbidden("vouching for stored rows (flask audit vouch) needs an admin key")
    if not reason.strip():
        raise InvalidInput("say why the rows are vouched for (--reason): what was checked")


def _problem(mac: str | None) -> str:
    return ("has no MAC (stored before 2026-11-30: `flask audit vouch` gives one)" if mac is None
            else "its MAC is not its own (made or edited in the database)")
