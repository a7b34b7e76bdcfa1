"""Console accounts: people who sign in to the web console with a username and a password, and
their sessions (server-side, so that signing out and the idle timeout end a session for good).

Passwords are hashed with scrypt (app/privacy.py); a session token is shown to the browser once
and stored only as its SHA-256. Console roles are the API's reading roles plus the people of the
release and review process; a channel (a machine) never has a console account.
"""
from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from app import metrics
from app.privacy import counted_as, hash_password, password_matches
from app.services import identity
from app.services.access import Access
from app.services.clock import Clock
from app.services.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from app.services.key_attempts import KeyAttempts
from app.state import SIGN_IN_WINDOW
from app.state.sign_ins import InProcessSignIns, SignIns
from app.storage import accounts
from app.storage.db import Database
from app.storage.models import ConsoleAccount, ConsoleSession

CONSOLE_ROLES = ("compliance", "underwriter", "author", "approver", "admin")
MIN_PASSWORD = 12
# Wrong passwords for one username before it is held back (counted over one to two windows of
# SIGN_IN_WINDOW): a guesser gets this many tries per window, not a million; a person
# who mistypes gets plenty. Counted per username typed, whether or not it exists, so that being
# held back says nothing about which usernames exist.
MAX_FAILED_SIGN_INS = 10
# A username that does not exist is checked against this hash, so that a wrong username costs
# the same time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


@dataclass(frozen=True)
class Person:
    """Who is signed in to the console."""

    username: str
    role: str


@dataclass(frozen=True)
class AccountInfo:
    username: str
    role: str
    created_at: datetime.datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime.datetime) -> datetime.datetime:
    # SQLite gives naive UTC back
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


class Accounts:
    def __init__(self, database: Database, access: Access, clock: Clock,
                 idle_timeout: datetime.timedelta, sign_ins: SignIns | None = None,
                 longest_session: datetime.timedelta = datetime.timedelta(hours=12),
                 key_attempts: KeyAttempts | None = None, address_limit: int = 0) -> None:
        self.database = database
        self.access = access
        # wrong keys counted per client address, as the API counts them (app/services/key_attempts.py)
        self.key_attempts = key_attempts or KeyAttempts(access)
        self.personal = access.personal  # rows carry a MAC of who they are (app/services/identity.py)
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.sign_ins = sign_ins or InProcessSignIns(SIGN_IN_WINDOW)
        self.longest_session = longest_session   # from sign-in, however busy the session is
        # wrong passwords one client address may send over one to two windows (0: not counted;
        # FIREFLY_SIGN_IN_FAILURE_LIMIT): many usernames tried from one address are held back too
        self.address_limit = address_limit

    def create(self, username: str, role: str, password: str) -> None:
        """A new account; the password is stored as a scrypt hash only."""
        if role not in CONSOLE_ROLES:
            raise InvalidInput(f"no console role {role!r}; roles: {', '.join(CONSOLE_ROLES)}",
                               code="unknown_role")
        _check_password(password)
        if (not username or len(username) > 100 or not username.isprintable() or " " in username
                or username.startswith("key:")):
            raise InvalidInput("a username is 1 to 100 printable characters without spaces, not "
                               "starting with 'key:' (the accounts of API keys)",
                               code="invalid_username")
        row = ConsoleAccount(username=username, role=role,
                             password_hash=hash_password(password))
        row.row_mac = identity.account_mac(self.personal, row)
        self.access.record_change("account.create", {"username": username, "role": role})
        with self.database.session() as session:
            if not accounts.add(session, row):
                raise Conflict(f"an account named {username!r} exists already", code="account_exists")

    def set_password(self, username: str, password: str) -> None:
        """A new password; every session of the account ends."""
        _check_password(password)
        self.access.record_change("account.set_password", {"username": username})
        with self.database.session() as session:
            account = accounts.by_username(session, username)
            if account is None:
                raise NotFound(f"no account {username!r} (see `flask accounts list`)", code="unknown_account")
            new = ConsoleAccount(username=username, role=account.role, password_hash=hash_password(password))
            accounts.set_password(session, username, new.password_hash, identity.account_mac(self.personal, new))

    def remove(self, username: str) -> None:
        self.access.record_change("account.remove", {"username": username})
        with self.database.session() as session:
            if not accounts.delete_account(session, username):
                raise NotFound(f"no account {username!r} (see `flask accounts list`)", code="unknown_account")

    def listed(self) -> list[AccountInfo]:
        with self.database.session() as session:
            return [AccountInfo(a.username, a.role, a.created_at) for a in accounts.all_accounts(session)]

    def sign_in(self, username: str, password: str, address: str | None = None) -> str | None:
        """A new session token for the right username and password, else None; TooManyAttempts,
        without checking the password, once the username had MAX_FAILED_SIGN_INS wrong ones lately,
        or the client `address` had `address_limit` (code too_many_attempts_from_address).

        An address past its limit is refused whatever it sends, a right password too: credential
        stuffing tries a few common passwords against many usernames, and an address still let in
        on a right password would go on harvesting the accounts whose password it guessed."""
        now = self.clock().timestamp()
        by_address = None
        if self.address_limit:
            # an IPv6 address by its /64 (a client picks any address in it), as wrong API keys are
            # counted (app/services/key_attempts.py); keyed, so no address is in clear in Redis
            by_address = self.personal.mac(f"console-sign-in-address:{counted_as(address or 'unknown')}")
            wait = self._held_back(by_address, self.address_limit, now)
            if wait is not None:
                metrics.observe_sign_in_refused("address")
                raise TooManyAttempts("too many failed sign-ins from this address; try again later",
                                      code="too_many_attempts_from_address", retry_after=wait)
        counted = self.personal.mac(f"console-sign-in:{username}")   # no username in clear in Redis
        wait = self._held_back(counted, MAX_FAILED_SIGN_INS, now)
        if wait is not None:
            metrics.observe_sign_in_refused("username")
            raise TooManyAttempts("too many failed sign-ins for this username; try again later",
                                  retry_after=wait)
        token = self._check(username, password)
        if token is None:
            metrics.observe_sign_in_failure()
            self.sign_ins.failed(counted, now)
            if by_address is not None:
                self.sign_ins.failed(by_address, now)
        return token

    def _held_back(self, key: str, limit: int, now: float) -> int | None:
        """Seconds until the failures counted under `key` fall below `limit` (what Retry-After
        says), or None when they are below it now (or cannot be read: the store decides nothing).
        A failure counts in its window and the next: the previous window's stop counting when the
        current one ends, the current one's when the next one ends."""
        counts = self.sign_ins.window_counts(key, now)
        if counts is None or sum(counts) < limit:
            return None
        window = self.sign_ins.window
        until_this_ends = int(window - now % window) + 1
        return until_this_ends + (window if counts[1] >= limit else 0)

    def _check(self, username: str, password: str) -> str | None:
        with self.database.session() as session:
            account = accounts.by_username(session, username)
            # No account, or one with no password (an API key's, "!"): the same scrypt work as a
            # wrong password, so the time of the answer does not tell which usernames exist.
            if account is None or not account.password_hash.startswith("scrypt:"):
                password_matches(_DUMMY_HASH, password)
                return None
            if not password_matches(account.password_hash, password):
                return None
            if not identity.genuine_account(self.personal, account):  # made in the database, not here
                return None
            return self._start(session, account)

    def sign_in_with_key(self, key: str, address: str | None = None) -> tuple[str | None, Person | None]:
        """Exchange an API key of a console role for a session under an account named after the
        key (made on first use, with no password): (token, person); a channel key or an unknown
        key gives (None, the key's principal or None). An unknown key counts against the client
        `address`, and an address with too many is refused (TooManyAttempts) before its key is
        looked at (app/services/key_attempts.py)."""
        principal = self.key_attempts.authenticate(key, address, "console")
        if principal is None or principal.role not in CONSOLE_ROLES:
            return None, (Person(principal.name, principal.role) if principal else None)
        username = f"key:{principal.name}"
        with self.database.session() as session:
            account = accounts.by_username(session, username)
            if account is None or account.role != principal.role or not identity.genuine_account(
                    self.personal, account):
                if account is not None:
                    accounts.delete_account(session, username)
                # No password can match "!": the account is reached only through its key.
                made = ConsoleAccount(username=username, role=principal.role, password_hash="!")
                made.row_mac = identity.account_mac(self.personal, made)
                accounts.add(session, made)
                account = accounts.by_username(session, username)
            return self._start(session, account), Person(username, principal.role)

    def _start(self, session, account: ConsoleAccount) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        row = ConsoleSession(token_hash=_token_hash(token), account_id=account.id, started_at=now, last_seen=now)
        row.row_mac = identity.session_mac(self.personal, row, account.username)
        accounts.start_session(session, row)
        return token

    def person(self, token: str) -> Person | None:
        """Who holds this session token, or None when it is unknown, idle too long or older than
        `longest_session` (then it ends); a session in use is kept alive until then."""
        digest = _token_hash(token)
        now = self.clock()
        with self.database.session() as session:
            found = accounts.session_with_account(session, digest)
            if found is None:
                return None
            row, account = found
            if not identity.genuine_session(self.personal, row, account):  # made in the database, not here
                return None
            if now - _aware(row.last_seen) > self.idle_timeout or \
                    now - _aware(row.started_at) > self.longest_session:
                accounts.end_session(session, digest)
                return None
            if account.username.startswith("key:") and not self.access.holds_key(
                    account.username.removeprefix("key:"), account.role):   # the key was revoked
                accounts.end_session(session, digest)
                return None
            accounts.touch_session(session, digest, now)
            return Person(account.username, account.role)

    def sign_out(self, token: str) -> None:
        with self.database.session() as session:
            accounts.end_session(session, _token_hash(token))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters", code="weak_password")
