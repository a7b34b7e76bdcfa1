"""How many requests each API key may send (FIREFLY_RATE_LIMIT, FIREFLY_RATE_LIMITS_BY_KEY).

A channel's key that floods the service (a partner's retry loop, a stolen key) would take the
workers from every other channel, and every application it sends is counted in the anti-fraud
memory. So each key has its own limits, counted by the `limits` library in a moving window: in
Redis when REDIS_URL is set (one count for every worker and host), else in this process.

With Redis unreachable the count falls back to this process's own (logged once): a limit that
holds per worker, never a 500 and never every request refused for want of a counter.
"""
from __future__ import annotations

import logging
import math
import time

import redis
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("firefly.state")

NAMESPACE = "api-key"
RETRY_SECONDS = 5.0  # how long a worker counts alone before it asks an unreachable Redis again


class RateLimitError(ValueError):
    """A limit that is not written as `N/second`, `N/minute`, ... (several joined by `;`)."""


def parse_limits(text: str) -> list[RateLimitItem]:
    """`100/second;3000/minute` as limit items; [] for "" or "none" (no limit)."""
    text = (text or "").strip()
    if text.lower() in ("", "none"):
        return []
    try:
        return list(parse_many(text))
    except ValueError:
        raise RateLimitError(f"{text!r} is not a rate limit: write N/second, N/minute, N/hour or "
                             "N/day, several joined by ';' (or none)") from None


def parse_by_key(text: str) -> dict[str, list[RateLimitItem]]:
    """`partner-a=20/second,branch=5/second;200/minute` as {key name: its limits}."""
    limits: dict[str, list[RateLimitItem]] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise RateLimitError(f"{part!r}: write KEY_NAME=LIMITS, such as partner-a=20/second")
        limits[name.strip()] = parse_limits(value)
    return limits


class MovingWindows:
    """Counts in moving windows (the `limits` library): in Redis when a client is given (one count
    for every worker and host), else in this process. With Redis unreachable a worker counts alone
    (logged once) and asks Redis again after RETRY_SECONDS: a limit that holds per worker, never a
    500 and never every request refused for want of a counter. `what` names the counts in the log
    ("request limits"), `event` its events (`<event>_local`, `<event>_shared`)."""

    def __init__(self, client: redis.Redis | None, what: str, event: str) -> None:
        self.what, self.event = what, event
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = None
        if client is not None:
            storage = RedisStorage("redis://", connection_pool=client.connection_pool, key_prefix="firefly:limits")
            self._shared = MovingWindowRateLimiter(storage)
        self._down_until = 0.0  # monotonic time until which Redis is not asked again
        self._down = False

    def hit(self, item: RateLimitItem, namespace: str, key: str) -> bool:
        """Count one under `key`; False when the limit was already reached (nothing counted)."""
        return self._use(lambda limiter: limiter.hit(item, namespace, key))

    def test(self, item: RateLimitItem, namespace: str, key: str) -> bool:
        """Whether one more would be admitted under `key` (nothing counted)."""
        return self._use(lambda limiter: limiter.test(item, namespace, key))

    def retry_after(self, item: RateLimitItem, namespace: str, key: str) -> int:
        """Whole seconds until the limit admits one more under `key` again (at least 1)."""
        try:
            reset = self._limiter().get_window_stats(item, namespace, key).reset_time
        except redis.RedisError:
            reset = time.time() + item.get_expiry()
        return max(1, math.ceil(reset - time.time()))

    def _use(self, counting):
        limiter = self._limiter()
        try:
            return counting(limiter)
        except redis.RedisError:
            self._fall_back()
            return counting(self._local)

    def _limiter(self) -> MovingWindowRateLimiter:
        if self._shared is None or time.monotonic() < self._down_until:
            return self._local
        if self._down:
            self._down = False
            log.info(f"{self.what} counted in Redis again", extra={"event": f"{self.event}_shared"})
        return self._shared

    def _fall_back(self) -> None:
        """Redis did not answer: count in this worker, and ask Redis again in a few seconds (not at
        every request, each of which would wait for its timeout)."""
        self._down_until = time.monotonic() + RETRY_SECONDS
        if not self._down:
            self._down = True
            log.warning(f"Redis unreachable: {self.what} counted in this worker only",
                        extra={"event": f"{self.event}_local"})


class RateLimits:
    def __init__(self, default: str, by_key: str = "", client: redis.Redis | None = None) -> None:
        self.default = parse_limits(default)
        self.by_key = parse_by_key(by_key)
        limited = self.default or any(self.by_key.values())
        self._windows = MovingWindows(client if limited else None, "request limits", "rate_limits")

    def limits_of(self, key_name: str) -> list[RateLimitItem]:
        return self.by_key.get(key_name, self.default)

    def admit(self, key_name: str) -> int | None:
        """Count a request of the key; None when every limit of the key admits it, else the whole
        seconds until the refusing limit admits one again (Retry-After)."""
        for item in self.limits_of(key_name):
            if not self._windows.hit(item, NAMESPACE, key_name):
                return self._windows.retry_after(item, NAMESPACE, key_name)
        return None
