"""Which hashing keys are still needed, and for what (`flask audit keys`): the question an
operator asks before taking a key out of FIREFLY_HMAC_OLD_KEYS after a rotation (docs/controls.md).

A key is needed while anything it made must still be read: decisions it sealed (replay), MACs it
made (verify), list entries it hashed (matching), and, for a while after a rotation, the
anti-fraud memory (app/services/velocity.py). A key id found in the data that no configured key
has is a finding: what it made can no longer be replayed, verified or matched.
"""
from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

from app.privacy import PersonalData
from app.services.clock import Clock, utc_now
from app.services.velocity import Velocity
from app.storage import key_use
from app.storage.db import Database

CURRENT, OLD, MISSING = "current", "old", "not configured"


@dataclass(frozen=True)
class KeyUse:
    key_id: str
    configured: str          # CURRENT, OLD or MISSING
    decisions: int           # decisions hashed under it (search)
    sealed: int              # ... of which with sealed personal data (replay)
    macs: int                # MACs of chained-log rows and links (verify)
    list_entries: int        # list entries in force hashed under it (matching)

    @property
    def in_use(self) -> bool:
        return bool(self.decisions or self.macs or self.list_entries)


@dataclass(frozen=True)
class KeysReport:
    keys: list[KeyUse]
    # while old keys are written and read by the anti-fraud memory: {what: until}; empty with
    # one key; None when the shared state cannot say (unavailable, or the key never wrote)
    anti_fraud_until: dict[str, datetime.datetime] | None
    anti_fraud_store: str    # "redis" or "in-process" (each worker's own, lost at a restart)

    @property
    def missing(self) -> list[KeyUse]:
        return [k for k in self.keys if k.configured == MISSING and k.in_use]


class KeyInventory:
    def __init__(self, database: Database, personal: PersonalData, velocity: Velocity,
                 clock: Clock = utc_now) -> None:
        self.database = database
        self.personal = personal
        self.velocity = velocity
        self.clock = clock

    def report(self) -> KeysReport:
        now = self.clock()
        with self.database.session() as session:
            found = key_use.usage(session, now)
        configured = {kid: (CURRENT if kid == self.personal.key_id else OLD) for kid in self.personal.key_ids}
        keys = []
        for kid in [*configured, *sorted(k for k in found if k not in configured)]:
            counts = found.get(kid) or Counter()
            keys.append(KeyUse(kid, configured.get(kid, MISSING), counts["decisions"], counts["sealed"],
                               counts["macs"], counts["list_entries"]))
        return KeysReport(keys, self.velocity.old_keys_needed_until(now), self.velocity.shared.kind)
