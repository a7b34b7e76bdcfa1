"""Authentication for the JSON API: an API key in X-API-Key (401 without a valid one) whose role
must be one the route allows (403)."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import g, request

from app import metrics
from app.api.errors import ApiError
from app.extensions import services
from app.services.access import Principal

HEADER = "X-API-Key"


def authenticate() -> Principal:
    """The caller of this request, or a 401."""
    key = request.headers.get(HEADER, "")
    if not key:
        raise ApiError(401, "unauthorized", f"missing API key: send it in the {HEADER} header")
    firefly = services()
    # a wrong key counts against the client's address; past FIREFLY_AUTH_FAILURE_LIMIT the address
    # is 429 (TooManyAttempts, Retry-After) whatever key it sends (app/services/key_attempts.py)
    principal = firefly.key_attempts.authenticate(key, request.remote_addr, "api")
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    wait = firefly.rate_limits.admit(principal.name) if firefly.rate_limits is not None else None
    if wait is not None:  # refused before anything is read, counted or decided
        metrics.observe_rate_limited(principal.name)
        raise ApiError(429, "too_many_requests", f"this API key sent more requests than its limit "
                       f"({'; '.join(str(i) for i in firefly.rate_limits.limits_of(principal.name))}); "
                       f"retry after {wait} s", headers={"Retry-After": str(wait)})
    g.principal = principal
    return principal


def require_role(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view: a valid key is required (401) and its role must be one of `roles` (403)."""
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if principal.role not in roles:
                raise ApiError(403, "forbidden", f"role {principal.role!r} may not do this; "
                                                 f"needs {' or '.join(roles)}")
            return view(*args, **kwargs)
        wrapped.firefly_roles = roles  # type: ignore[attr-defined]
        return wrapped
    return decorator


def caller() -> Principal:
    """The authenticated caller of this request."""
    return g.principal
