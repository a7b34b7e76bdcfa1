"""Failed console sign-ins per username, so that guessing one account's password is held back
(app/services/accounts.py): in Redis when REDIS_URL is set (shared by every worker), else in this
process.

A failure is counted in the window of `window` seconds it falls in (windows start at multiples of
`window` since the epoch); `failures` adds the current window's count and the one before, so a
failure counts for one to two windows and no boundary resets the count at once. Keys are what the
caller gives (a keyed hash of the username, never the name). The adapters never raise: a Redis that
is down counts nothing (None), and the caller decides what that means.
"""
from __future__ import annotations

import logging
import threading
from typing import Protocol

import redis

log = logging.getLogger("firefly.state")

PREFIX = "firefly:sign-ins:v1:"


class SignIns(Protocol):
    kind: str
    window: int

    def failures(self, key: str, now: float) -> int | None:
        """Failures under `key` in the window of `now` and the one before; None if unavailable."""

    def window_counts(self, key: str, now: float) -> tuple[int, int] | None:
        """Failures under `key` in the window before `now`'s and in `now`'s; None if unavailable."""

    def failed(self, key: str, now: float) -> None:
        """Count a failure under `key` at `now` (lost, and logged, if the store is unavailable)."""


def _bucket(now: float, window: int) -> int:
    return int(now // window)


class RedisSignIns:
    kind = "redis"

    def __init__(self, client: redis.Redis, window: int) -> None:
        self.client = client
        self.window = window

    def _key(self, key: str, bucket: int) -> str:
        return f"{PREFIX}{key}:{bucket}"

    def failures(self, key: str, now: float) -> int | None:
        counts = self.window_counts(key, now)
        return None if counts is None else sum(counts)

    def window_counts(self, key: str, now: float) -> tuple[int, int] | None:
        bucket = _bucket(now, self.window)
        try:
            before, current = self.client.mget([self._key(key, bucket - 1), self._key(key, bucket)])
        except redis.RedisError as error:
            _unavailable("read", error)
            return None
        return int(before or 0), int(current or 0)

    def failed(self, key: str, now: float) -> None:
        name = self._key(key, _bucket(now, self.window))
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, 2 * self.window)   # read for this window and the next only
                pipe.execute()
        except redis.RedisError as error:
            _unavailable("count", error)


class InProcessSignIns:
    """Without Redis: counts in this process only (each gunicorn worker holds its own)."""

    kind = "in-process"

    def __init__(self, window: int) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def failures(self, key: str, now: float) -> int | None:
        return sum(self.window_counts(key, now))

    def window_counts(self, key: str, now: float) -> tuple[int, int]:
        bucket = _bucket(now, self.window)
        with self._lock:
            return self._counts.get((key, bucket - 1), 0), self._counts.get((key, bucket), 0)

    def failed(self, key: str, now: float) -> None:
        bucket = _bucket(now, self.window)
        with self._lock:
            for old in [k for k in self._counts if k[1] < bucket - 1]:   # memory bounded by two windows
                del self._counts[old]
            self._counts[(key, bucket)] = self._counts.get((key, bucket), 0) + 1


def _unavailable(doing: str, error: Exception) -> None:
    log.warning("failed sign-ins not counted: Redis unavailable",
                extra={"event": "sign_in_count_unavailable", "doing": doing, "error": type(error).__name__})
