"""Shared anti-fraud state: time-stamped sets of members per key (the one port the velocity use
case reads and writes), in Redis or in this process.

Every fact is a member of a set under a key, stamped with the time it was last seen: an
application's event id under `ev:applications:<keyed hash of the device id>`, an ID's keyed hash
under the device's distinct set, a declined decision's id under the ID's outcome set or a fraud
decline's id under each of its link keys. `record` adds members and counts, per key, those seen in
a window, in one atomic step (a Redis MULTI transaction; a lock in process), so concurrent
decisions get exact counts. Memory is bounded: members older than the key's retention are dropped
on every write, the key expires after its retention, and a key keeps at most MAX_MEMBERS members.

Keys hold keyed hashes (HMAC, app/privacy.py), never clear values. The adapters return facts and
never raise: None means the store could not answer (Redis down), and the policy decides what a
missing value means.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol, Sequence

import redis

log = logging.getLogger("firefly.state")

PREFIX = "firefly:shared:"
MAX_MEMBERS = 10_000  # per key: a count saturates here (a device with 10,000 applications a month)


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


class RedisShared:
    """Sorted sets in Redis: score = the time a member was last seen."""

    kind = "redis"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def record(self, now: float, entries: Sequence[Entry]) -> list[int | None] | None:
        pipe = self.client.pipeline(transaction=True)  # MULTI ... EXEC: one atomic step
        for entry in entries:
            key = PREFIX + entry.key
            pipe.zadd(key, {entry.member: now})
            pipe.zremrangebyscore(key, "-inf", now - entry.retention)
            pipe.zremrangebyrank(key, 0, -(MAX_MEMBERS + 1))
            pipe.expire(key, entry.retention)
            if entry.window is not None:
                # inside the window: seen less than `window` seconds ago (exactly that: outside)
                pipe.zcount(key, f"({now - entry.window}", "+inf")
        try:
            replies = pipe.execute()
        except redis.RedisError as error:
            _unavailable("record", error)
            return None
        counts: list[int | None] = []
        position = 0
        for entry in entries:
            position += 4
            if entry.window is None:
                counts.append(None)
            else:
                counts.append(int(replies[position]))
                position += 1
        return counts

    def recent(self, queries: Sequence[tuple[Sequence[str], float]]
               ) -> list[dict[str, float]] | None:
        pipe = self.client.pipeline(transaction=False)  # reads only
        for keys, since in queries:
            for key in keys:
                pipe.zrangebyscore(PREFIX + key, f"({since}", "+inf", withscores=True)
        try:
            replies = iter(pipe.execute())
        except redis.RedisError as error:
            _unavailable("read", error)
            return None
        results = []
        for keys, _ in queries:
            found: dict[str, float] = {}
            for _key in keys:
                for member, score in next(replies):
                    name = member.decode() if isinstance(member, bytes) else member
                    found[name] = max(score, found.get(name, score))
            results.append(found)
        return results


class InProcessShared:
    """The embedded default (`make run` without REDIS_URL): the same sets in this process only.
    Counts are exact within the process and not shared with other workers."""

    kind = "in-process"
    SWEEP_EVERY = 1000  # writes between sweeps of keys that expired

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, float]] = {}
        self._expires: dict[str, float] = {}
        self._writes = 0

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
                self._expires[entry.key] = now + entry.retention
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
