"""API keys tried per client address: a wrong key is counted against the address it came from
(app/state/auth_failures.py, FIREFLY_AUTH_FAILURE_LIMIT), and an address past the limit is refused
(TooManyAttempts: 429 with Retry-After) before any key it sends is looked at, a right one too, until
the moving window lets it try again. Used by the JSON API's X-API-Key and the console's key sign-in,
the two places where anyone who reaches the service can try keys.

Only failures are counted: a request with a right key costs at most one look at its address's
count a second in each worker (none when the limit is off; app/state/auth_failures.py). An IPv6 address is counted by its /64 network (a client picks any address
in it at will), as the anti-fraud memory counts one (app/privacy.py counted_as).
"""
from __future__ import annotations

from app import metrics
from app.privacy import counted_as
from app.services.access import Access, Principal
from app.services.errors import TooManyAttempts
from app.state.auth_failures import AuthFailures


class KeyAttempts:
    def __init__(self, access: Access, failures: AuthFailures | None = None) -> None:
        self.access = access
        self.failures = failures if failures is not None else AuthFailures("none")

    def authenticate(self, key: str, address: str | None, where: str) -> Principal | None:
        """The caller holding this key, or None (counted against the address) for a wrong key;
        TooManyAttempts, without looking at the key, once the address had too many wrong ones.
        `where`: "api" or "console" (the metrics' label)."""
        if not self.failures.enabled:
            principal = self.access.authenticate(key)
            if principal is None:
                metrics.observe_auth_failure(where)
            return principal
        counted = counted_as(address or "unknown")
        wait = self.failures.held_back(counted)
        if wait is None:
            principal = self.access.authenticate(key)
            if principal is not None:
                return principal
            metrics.observe_auth_failure(where)
            wait = self.failures.failed(counted)   # None: counted; else the limit was reached already
            if wait is None:
                return None
        metrics.observe_auth_refused(where)
        raise TooManyAttempts(f"too many wrong API keys from this address; try again after {wait} s",
                              retry_after=wait)
