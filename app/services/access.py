"""Who may call: API keys (held as SHA-256 hashes) and their roles.

channel decides, compliance audits, admin runs policies. Keys come from FIREFLY_API_KEYS
(`name:role:key,...`) and from the api_keys table (`flask keys create`); a revoked key stops working
at once in every worker, because stored keys are looked up on every request.
"""
from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
import re
from typing import Any

from app.config import DEV_API_KEYS, ConfigError
from app.privacy import PersonalData
from app.services import identity
from app.services.errors import Conflict, InvalidInput, NotFound
from app.storage import accounts, api_keys
from app.storage.db import Database
from app.storage.models import ApiKey

# channel decides; compliance audits decisions; author submits policy releases, approver approves
# them (never their own) and reads the access log; underwriter closes referred applications; admin
# runs operations (keys, reloads).
ROLES = ("channel", "compliance", "admin", "author", "approver", "underwriter")
_BIND_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")
_BOUND_ROLE = re.compile(r"^([a-z]+)\[(.+)\]$")
# A stored key's name: it scopes the key's Idempotency-Keys and velocity events as
# `<name>:<Idempotency-Key>` (services/deciding.py), so it may hold no ':' (`bank:app` + `7` and
# `bank` + `app:7` were one scope), nor anything a log or a list shows ambiguously.
_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


# A key bound to values of input fields: {"device.channel": ("PARTNER",)} as a sorted tuple of
# (path, allowed values). A partner's system keyed so sends only what it is; without the binding
# it could say BANK_APP and escape the partner channel's cap (docs/controls.md, "Keys bound to a channel").
Binds = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name and role, and the input values the key is bound to."""

    name: str
    role: str
    binds: Binds = ()


def parse_binds(items: Any) -> Binds:
    """`path=V1|V2` items (or a stored {path: [values]}) as Binds; ValueError when malformed."""
    found: dict[str, tuple[str, ...]] = {}
    pairs = items.items() if isinstance(items, dict) else (
        (text.split("=", 1) if "=" in text else (text, "")) for text in items)
    for path, values in pairs:
        allowed = tuple(values) if isinstance(values, (list, tuple)) else tuple(filter(None, values.split("|")))
        path = path.strip()
        if not _BIND_PATH.match(path) or not allowed or path in found:
            raise ValueError(f"a binding is a field path and its allowed values, such as "
                             f"device.channel=PARTNER or device.channel=RM_APP|BRANCH; not {path!r}")
        found[path] = tuple(sorted(set(allowed)))
    return tuple(sorted(found.items()))


def binds_json(binds: Binds) -> dict[str, list[str]] | None:
    return {path: list(values) for path, values in binds} or None


@dataclass(frozen=True)
class StoredKey:
    name: str
    role: str
    created_at: datetime.datetime
    binds: "Binds" = ()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_api_keys(text: str | None) -> dict[str, Principal]:
    """Parse `name:role:key,...` into {hash: Principal}; the clear keys are not kept. A role may
    carry bindings: `partner-a:channel[device.channel=PARTNER]:key` (several: `;` between them)."""
    keys = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        parts = item.split(":", 2)
        role, binds = parts[1] if len(parts) > 1 else "", ()
        bound = _BOUND_ROLE.match(role)
        if bound:
            role = bound.group(1)
            try:
                binds = parse_binds(bound.group(2).split(";"))
            except ValueError as error:
                raise ConfigError(f"FIREFLY_API_KEYS entry {parts[0]!r}: {error}") from None
        if len(parts) != 3 or role not in ROLES or len(parts[2]) < 8:
            raise ConfigError(f"FIREFLY_API_KEYS entry {parts[0]!r} must be name:role:key with role in "
                              f"{', '.join(ROLES)} and a key of at least 8 characters")
        keys[hash_key(parts[2])] = Principal(parts[0], role, binds)
    return keys


DEV_KEY_HASHES = frozenset(parse_api_keys(DEV_API_KEYS))


class Access:
    """Authenticating callers and managing stored keys."""

    def __init__(self, database: Database, configured: str, production: bool,
                 personal: PersonalData, audit: Any = None) -> None:
        self.database = database
        self.personal = personal  # stored keys carry a MAC of their name, role and hash (identity.py)
        # key creation and revocation are recorded in the access log (an AccessAudit, which
        # itself names callers by this module's Principal)
        self.audit = audit
        self.configured = configured
        self._keys = parse_api_keys(configured)
        if production and DEV_KEY_HASHES & set(self._keys):
            raise ConfigError("refusing to start in production: FIREFLY_API_KEYS holds development keys")

    def authenticate(self, key: str) -> Principal | None:
        """The caller holding this key, or None if no key matches."""
        digest = hash_key(key)
        principal = self._keys.get(digest)
        if principal is not None:
            return principal
        with self.database.session() as session:
            row = api_keys.by_hash(session, digest)
            if row is None or not identity.genuine_key(self.personal, row):
                return None
            return Principal(row.name, row.role, parse_binds(row.binds or {}))

    def create(self, name: str, role: str, binds: Binds = ()) -> str:
        """Store a new key NAME with ROLE (bound to input values: `binds`); returns the key, which
        is shown once and never stored."""
        if role not in ROLES:
            raise NotFound(f"no role {role!r}; roles: {', '.join(ROLES)}", code="unknown_role")
        if not _KEY_NAME.match(name):
            raise InvalidInput("a key's name is 1 to 64 ASCII letters, digits, '.', '_' and '-', starting "
                               "with a letter or digit", code="invalid_key_name")
        if any(principal.name == name for principal in self._keys.values()):
            # the same name is the same scope: a stored key would share a configured key's
            raise Conflict(f"a configured key (FIREFLY_API_KEYS) is named {name!r}; choose another name",
                           code="key_exists")
        key = "ff_" + secrets.token_urlsafe(32)
        row = ApiKey(name=name, role=role, key_hash=hash_key(key), binds=binds_json(binds))
        row.row_mac = identity.key_mac(self.personal, row)
        self.record_change("key.create", {"name": name, "role": role, "binds": binds_json(binds)})
        with self.database.session() as session:
            if not api_keys.add(session, row):
                raise Conflict(f"a key named {name!r} exists already; choose another name",
                               code="key_exists")
        return key

    def record_change(self, action: str, details: dict) -> None:
        """In the access log first: a change to who may call is not made if it cannot be recorded."""
        if self.audit is not None:
            self.audit.record(None, action, [], details)

    def stored(self) -> list[StoredKey]:
        with self.database.session() as session:
            return [StoredKey(k.name, k.role, k.created_at, parse_binds(k.binds or {}))
                    for k in api_keys.all_keys(session)]

    def revoke(self, name: str) -> None:
        """Delete the stored key NAME, and the console account it was exchanged for with its
        sessions (app/services/accounts.py): what the key opened ends with it."""
        self.record_change("key.revoke", {"name": name})
        with self.database.session() as session:
            if not api_keys.delete(session, name):
                raise NotFound(f"no stored key named {name!r} (see `flask keys list`)",
                               code="unknown_key")
            accounts.delete_account(session, f"key:{name}")

    def holds_key(self, name: str, role: str) -> bool:
        """Whether a key NAME of ROLE is still configured or stored (a console session exchanged
        for a key lasts only as long as the key)."""
        if any(p.name == name and p.role == role for p in self._keys.values()):
            return True
        with self.database.session() as session:
            row = api_keys.by_name(session, name)
            return row is not None and row.role == role and identity.genuine_key(self.personal, row)

    @property
    def uses_development_keys(self) -> bool:
        return self.configured == DEV_API_KEYS
