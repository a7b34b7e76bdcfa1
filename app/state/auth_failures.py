"""Failed authentications per client address (FIREFLY_AUTH_FAILURE_LIMIT), so that nobody who
reaches the API or the console's key sign-in can guess API keys online without limit.

Only failures are counted (a wrong key): a caller with a right key adds nothing. An address past
the limit is refused (429, Retry-After) before its key is looked at, a right key too: else the one
answer that differed would tell the guesser which guess was right. The counts are moving windows of
the `limits` library, as the request limits (app/state/rate_limits.py): in Redis when REDIS_URL is
set (one count for every worker and host), else, or with Redis unreachable, in this worker.

A request with a right key must not wait for the count each time: a worker asks it about an
address at most once every CHECK_SECONDS while the address is free, and remembers an address held
back until its time is up. A wrong key always asks (its count moved), and counting it says whether
the limit was already reached: that refusal is exact in every worker. So a right key may pass for
up to CHECK_SECONDS after another worker's wrong keys from its address reached the limit.
"""
from __future__ import annotations

import math
import time

import redis
from limits import RateLimitItem

from app.state.rate_limits import MovingWindows, parse_limits

NAMESPACE = "auth-failures"
CHECK_SECONDS = 1.0      # how long a worker takes an address's free count as read
REMEMBERED = 10_000      # addresses a worker remembers (all forgotten at once past this)


class AuthFailures:
    def __init__(self, limits: str, client: redis.Redis | None = None) -> None:
        self.limits: list[RateLimitItem] = parse_limits(limits)
        self._windows = MovingWindows(client if self.limits else None, "failed authentications",
                                      "auth_failures")
        self._known: dict[str, tuple[float, int | None]] = {}  # address -> (until, held back or None)

    @property
    def enabled(self) -> bool:
        return bool(self.limits)

    def held_back(self, address: str) -> int | None:
        """None while the address may try a key; else the whole seconds until it may again."""
        now = time.time()
        known = self._known.get(address)
        if known is not None and now < known[0]:
            return None if known[1] is None else max(1, math.ceil(known[0] - now))
        wait = None
        for item in self.limits:
            if not self._windows.test(item, NAMESPACE, address):
                wait = self._windows.retry_after(item, NAMESPACE, address)
                break
        self._remember(address, now + (wait if wait is not None else CHECK_SECONDS), wait)
        return wait

    def failed(self, address: str) -> int | None:
        """Count a failed authentication from the address under every limit: None when counted,
        else (the limit was reached already, by this worker or another) the whole seconds until
        the address may try again."""
        for item in self.limits:
            if not self._windows.hit(item, NAMESPACE, address):
                wait = self._windows.retry_after(item, NAMESPACE, address)
                self._remember(address, time.time() + wait, wait)
                return wait
        self._known.pop(address, None)   # its count moved: asked again at its next key
        return None

    def _remember(self, address: str, until: float, wait: int | None) -> None:
        if len(self._known) >= REMEMBERED:
            self._known.clear()
        self._known[address] = (until, wait)
