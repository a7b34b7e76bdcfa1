"""Shared anti-fraud state: time-stamped sets of members per key (the one port the velocity use
case reads and writes), in Redis or in this process.

Every fact is a member of a set under a key, stamped with the time it was last seen: an
application's event id under `ev:applications:device.device_id:<keyed hash of the device id>`, an
ID's keyed hash under the device's distinct set, a declined decision's id under the ID's outcome set or a fraud
decline's id under each of its link keys. `record` adds members and counts, per key, those seen in
a window, in one atomic step (a Lua script in Redis, which runs alone as a MULTI transaction
would; a lock in process), so concurrent decisions get exact counts; `record_and_read` also reads
the keys of last-seen facts and links in the same step (one round trip per decision). Memory is bounded: members older than the key's retention are dropped
on every write, the key expires after its retention, and a key keeps at most MAX_MEMBERS members.

Keys hold keyed hashes (HMAC, app/privacy.py), never clear values; `first_used` keeps when each
hashing key first wrote, so that after a rotation the velocity use case knows how long the old key's
sets are still needed (app/services/velocity.py). The adapters return facts and
never raise: None means the store could not answer (Redis down), and the policy decides what a
missing value means.
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Protocol, Sequence

import redis

log = logging.getLogger("firefly.state")

# v2: keys name the field they count by (ev:applications:device.device_id:<hash>, not
# ev:applications:<hash>, where a device id equal to someone's phone number met that phone's
# counts). A new prefix, so that a store written the old way reads as a new store: its memory
# begins at the upgrade, and velocity values reaching back before it are missing until `flask
# velocity accept-loss` (docs/anti_fraud.md), never silently counted from zero.
PREFIX = "firefly:shared:v2:"
MAX_MEMBERS = 10_000  # per key: a count saturates here (a device with 10,000 applications a month)
FIRST_USED = PREFIX + "keys:first-used"  # key id -> when it first wrote (never expires; a few members)
# When the store's memory began: set by the first write into an empty store (a new one, or one
# emptied by a restart without persistence, a flush, an eviction). Never expires. The velocity use
# case compares it with the decisions stored before it: an emptied store is not a clean history.
MEMORY_SINCE = PREFIX + "memory-since"


@dataclass(frozen=True)
class Entry:
    """Record `member` under `key` (seen now); count the key's members seen in the last `window`
    seconds (None: do not count). Members older than `retention` seconds are dropped."""

    key: str
    member: str
    window: int | None
    retention: int


class SharedState(Protocol):
    kind: str  # "redis" or "in-process"

    def record(self, now: float, entries: Sequence[Entry]) -> list[int | None] | None:
        """Record every entry and count each one's window, atomically; None if unavailable."""

    def recent(self, queries: Sequence[tuple[Sequence[str], float]]
               ) -> list[dict[str, float]] | None:
        """For each query (keys, since): every member seen after `since` under any of the keys,
        with the latest time it was seen; None if unavailable."""

    def record_and_read(self, now: float, entries: Sequence[Entry],
                        queries: Sequence[tuple[Sequence[str], float]]
                        ) -> tuple[list[int | None], list[dict[str, float]], float | None] | None:
        """`record` and then `recent` in one step (one round trip to Redis), with when the store's
        memory began (None: not kept, as in a process); None if unavailable."""

    def accept_loss(self) -> float | None:
        """Declare the store's memory whole (an operator accepting a loss): returns when it said
        its memory began before, None if it did not say or is unavailable."""

    def first_used(self, kid: str, now: float, mark: bool = True) -> float | None:
        """When the key with id `kid` first wrote here: `now` if it never did (and from now on
        that answer); None if unavailable. A key's sets hold every event since that moment.
        With mark=False only read (None also when it never wrote)."""

    def replay(self, now: float, facts: Sequence[tuple[float, Entry]]) -> int | None:
        """Record facts seen at past moments (a rebuild from stored decisions): each (moment,
        entry), in one step, without counting and without marking when the memory began. A
        member keeps its latest moment (a fact replayed never moves one seen later back); members
        older than the retention at `now` are dropped, and a key expires its retention after its
        latest member, never sooner than it would have. Returns how many were recorded, None if
        unavailable."""

    def memory_began(self, now: float) -> float | None:
        """When the store's memory began: `now` if it has no marker (marked so, as the first
        write into an empty store does); None if unavailable."""

    def rebuilt(self, since: float, began: float) -> bool | None:
        """A rebuild replayed every stored decision from `since` on, into a memory that began at
        `began`: the memory counts as whole from `since` (unless it is from earlier already).
        False when the memory began again meanwhile (emptied during the rebuild: nothing is
        marked); None if unavailable."""


# One atomic step in Redis (a script runs alone, as MULTI ... EXEC did, in one round trip): record
# and count every entry, then read every query's keys.
# KEYS: MEMORY_SINCE, the entries' keys, then every query's keys. ARGV: the number of entries,
# MAX_MEMBERS, now for MEMORY_SINCE (set if absent, then read; "": a read only, neither), then
# per entry: member, now, the score at or under which members are dropped, the retention in
# seconds, the exclusive lower bound of the counted window ("": not counted); then per query: its
# number of keys and the exclusive lower bound of the times read.
STEP = """
local entries, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local counts, found, since = {}, {}, false
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3], 'NX')
  since = redis.call('GET', KEYS[1])
end
local a = 4
for i = 1, entries do
  local key = KEYS[i + 1]
  redis.call('ZADD', key, ARGV[a + 1], ARGV[a])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[a + 2])
  redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1))
  redis.call('EXPIRE', key, ARGV[a + 3])
  if ARGV[a + 4] == '' then counts[i] = -1 else counts[i] = redis.call('ZCOUNT', key, ARGV[a + 4], '+inf') end
  a = a + 5
end
local k = entries + 2
while a <= #ARGV do
  local keys, since, rows = tonumber(ARGV[a]), ARGV[a + 1], {}
  for _ = 1, keys do
    for _, value in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], since, '+inf', 'WITHSCORES')) do
      rows[#rows + 1] = value
    end
    k = k + 1
  end
  found[#found + 1] = rows
  a = a + 2
end
return {counts, found, since}
"""


# A rebuild's facts at their own past moments (SharedState.replay). KEYS: the entries' keys. ARGV:
# MAX_MEMBERS, then per entry: member, its moment, the score at or under which members are
# dropped, the seconds the key must live at least.
REPLAY = """
local cap, a = tonumber(ARGV[1]), 2
for i = 1, #KEYS do
  local key = KEYS[i]
  redis.call('ZADD', key, 'GT', ARGV[a + 1], ARGV[a])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[a + 2])
  redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1))
  local ttl = tonumber(ARGV[a + 3])
  if redis.call('TTL', key) < ttl then redis.call('EXPIRE', key, ttl) end
  a = a + 4
end
return #KEYS
"""

# The end of a rebuild (SharedState.rebuilt). KEYS: MEMORY_SINCE. ARGV: since, began. 1: whole
# from `since` (or from earlier already); 0: the memory began again meanwhile (or has no marker).
REBUILT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '')
if current == nil then return 0 end
if current <= tonumber(ARGV[1]) then return 1 end
if current ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


class RedisShared:
    """Sorted sets in Redis: score = the time a member was last seen."""

    kind = "redis"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.step = client.register_script(STEP)  # EVALSHA, loaded again after a Redis restart
        self.replay_step = client.register_script(REPLAY)
        self.rebuilt_step = client.register_script(REBUILT)

    def record(self, now: float, entries: Sequence[Entry]) -> list[int | None] | None:
        done = self._step(now, entries, [], "record")
        return None if done is None else done[0]

    def recent(self, queries: Sequence[tuple[Sequence[str], float]]
               ) -> list[dict[str, float]] | None:
        done = self._step(0.0, [], queries, "read")
        return None if done is None else done[1]

    def record_and_read(self, now: float, entries: Sequence[Entry],
                        queries: Sequence[tuple[Sequence[str], float]]
                        ) -> tuple[list[int | None], list[dict[str, float]], float | None] | None:
        return self._step(now, entries, queries, "record")

    def accept_loss(self) -> float | None:
        try:
            before = self.client.getset(MEMORY_SINCE, "0")  # whole since the beginning of time
        except redis.RedisError as error:
            _unavailable("accept_loss", error)
            return None
        return None if before is None else float(before)

    def first_used(self, kid: str, now: float, mark: bool = True) -> float | None:
        try:
            with self.client.pipeline(transaction=True) as pipe:
                if mark:
                    pipe.zadd(FIRST_USED, {kid: now}, nx=True)
                pipe.zscore(FIRST_USED, kid)
                seen = pipe.execute()[-1]
        except redis.RedisError as error:
            _unavailable("first_used", error)
            return None
        return None if seen is None else float(seen)

    def replay(self, now: float, facts: Sequence[tuple[float, Entry]]) -> int | None:
        if not facts:
            return 0
        keys: list[str] = []
        args: list[str | int] = [MAX_MEMBERS]
        for moment, entry in facts:
            keys.append(PREFIX + entry.key)
            args += [entry.member, repr(moment), repr(now - entry.retention),
                     max(1, math.ceil(moment + entry.retention - now))]
        try:
            return int(self.replay_step(keys=keys, args=args))
        except redis.RedisError as error:
            _unavailable("replay", error)
            return None

    def memory_began(self, now: float) -> float | None:
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(MEMORY_SINCE, repr(now), nx=True)
                pipe.get(MEMORY_SINCE)
                began = pipe.execute()[-1]
        except redis.RedisError as error:
            _unavailable("memory_began", error)
            return None
        return None if began is None else float(began)

    def rebuilt(self, since: float, began: float) -> bool | None:
        try:
            return bool(self.rebuilt_step(keys=[MEMORY_SINCE], args=[repr(since), repr(began)]))
        except redis.RedisError as error:
            _unavailable("rebuilt", error)
            return None

    def _run_step(self, keys: list[str], args: list[str | int]) -> list:
        """The step by EVALSHA straight on the client: redis-py's Script wrapper checks the
        client's class against a Protocol on every call, which showed in a worker's profile. A
        server whose script cache is empty (a restart, SCRIPT FLUSH) gets the script through the
        wrapper, which loads it and runs it."""
        try:
            return self.client.evalsha(self.step.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return self.step(keys=keys, args=args)

    def _step(self, now: float, entries: Sequence[Entry], queries: Sequence[tuple[Sequence[str], float]],
              doing: str) -> tuple[list[int | None], list[dict[str, float]], float | None] | None:
        keys: list[str] = [MEMORY_SINCE]
        args: list[str | int] = [len(entries), MAX_MEMBERS, repr(now) if doing == "record" else ""]
        for entry in entries:
            keys.append(PREFIX + entry.key)
            # inside the window: seen less than `window` seconds ago (exactly that: outside)
            args += [entry.member, repr(now), repr(now - entry.retention), entry.retention,
                     "" if entry.window is None else f"({now - entry.window!r}"]
        for query_keys, since in queries:
            keys += [PREFIX + key for key in query_keys]
            args += [len(query_keys), f"({since!r}"]
        try:
            counts, found, since = self._run_step(keys, args)
        except redis.RedisError as error:
            _unavailable(doing, error)
            return None
        results = []
        for rows in found:
            members: dict[str, float] = {}
            for position in range(0, len(rows), 2):
                member = rows[position]
                name = member.decode() if isinstance(member, bytes) else member
                score = float(rows[position + 1])
                members[name] = max(score, members.get(name, score))
            results.append(members)
        return ([None if count < 0 else int(count) for count in counts], results,
                None if since is None else float(since))


class InProcessShared:
    """The embedded default (`make run` without REDIS_URL): the same sets in this process only.
    Counts are exact within the process and not shared with other workers."""

    kind = "in-process"
    SWEEP_EVERY = 1000  # writes between sweeps of keys that expired

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, float]] = {}
        self._expires: dict[str, float] = {}
        self._first_used: dict[str, float] = {}
        self._writes = 0
        self._since: float | None = None  # when this memory began, once a rebuild asked

    def record(self, now: float, entries: Sequence[Entry]) -> list[int | None] | None:
        counts: list[int | None] = []
        with self._lock:
            for entry in entries:
                members = self._live(entry.key, now)
                members[entry.member] = now
                horizon = now - entry.retention
                for member in [m for m, seen in members.items() if seen <= horizon]:
                    del members[member]
                if len(members) > MAX_MEMBERS:  # keep the latest MAX_MEMBERS
                    for member, _ in sorted(members.items(), key=lambda i: i[1])[:len(members) - MAX_MEMBERS]:
                        del members[member]
                self._expires[entry.key] = max(self._expires.get(entry.key, 0.0), now + entry.retention)
                counts.append(None if entry.window is None else
                              sum(1 for seen in members.values() if seen > now - entry.window))
            self._writes += 1
            if self._writes % self.SWEEP_EVERY == 0:
                self._sweep(now)
        return counts

    def recent(self, queries: Sequence[tuple[Sequence[str], float]]
               ) -> list[dict[str, float]] | None:
        results = []
        with self._lock:
            for keys, since in queries:
                found: dict[str, float] = {}
                for key in keys:
                    for member, seen in self._sets.get(key, {}).items():
                        if seen > since:
                            found[member] = max(seen, found.get(member, seen))
                results.append(found)
        return results

    def record_and_read(self, now: float, entries: Sequence[Entry],
                        queries: Sequence[tuple[Sequence[str], float]]
                        ) -> tuple[list[int | None], list[dict[str, float]], float | None] | None:
        counts = self.record(now, entries)
        found = self.recent(queries)
        # a process's memory begins with it and is said to at start-up: not kept
        return None if counts is None or found is None else (counts, found, None)

    def accept_loss(self) -> float | None:
        return None

    def first_used(self, kid: str, now: float, mark: bool = True) -> float | None:
        with self._lock:
            return self._first_used.setdefault(kid, now) if mark else self._first_used.get(kid)

    def replay(self, now: float, facts: Sequence[tuple[float, Entry]]) -> int | None:
        with self._lock:
            for moment, entry in facts:
                members = self._live(entry.key, now)
                members[entry.member] = max(moment, members.get(entry.member, moment))
                horizon = now - entry.retention
                for member in [m for m, seen in members.items() if seen <= horizon]:
                    del members[member]
                if len(members) > MAX_MEMBERS:
                    for member, _ in sorted(members.items(), key=lambda i: i[1])[:len(members) - MAX_MEMBERS]:
                        del members[member]
                self._expires[entry.key] = max(self._expires.get(entry.key, 0.0), moment + entry.retention)
        return len(facts)

    def memory_began(self, now: float) -> float | None:
        with self._lock:
            if self._since is None:
                self._since = now
            return self._since

    def rebuilt(self, since: float, began: float) -> bool | None:
        with self._lock:
            if self._since is None or (self._since > since and self._since != began):
                return False
            self._since = min(self._since, since)
            return True

    def size(self) -> int:
        """How many keys are held (for the bounded-memory test)."""
        with self._lock:
            return len(self._sets)

    def _live(self, key: str, now: float) -> dict[str, float]:
        if self._expires.get(key, now + 1) <= now:
            self._sets.pop(key, None)
        return self._sets.setdefault(key, {})

    def _sweep(self, now: float) -> None:
        for key in [k for k, at in self._expires.items() if at <= now]:
            self._sets.pop(key, None)
            del self._expires[key]


def _unavailable(doing: str, error: Exception) -> None:
    log.warning("shared anti-fraud state unavailable", extra={
        "event": "shared_state_unavailable", "doing": doing, "error": type(error).__name__})
