"""Domain errors: what a use case reports when it cannot do what was asked.

They carry a stable code, a message a caller can act on and optional details, never an HTTP status:
the API maps each class to a status (app/api/errors.py), the CLI to a message and an exit code.
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A use case could not do what was asked; `code` is stable, `message` says what to do."""

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.details = details
        self.retry_after = retry_after  # seconds after which trying again may succeed


class NotFound(ServiceError):
    """The thing asked for does not exist (a policy, a decision, a version, a key)."""

    default_code = "not_found"


class Conflict(ServiceError):
    """The request contradicts what is stored or in progress (an idempotency key used for another
    body, several versions matching, stored files this engine can no longer load)."""

    default_code = "conflict"


class InvalidInput(ServiceError):
    """Well-formed input that the rules refuse: an application outside the policy's input schema,
    a policy folder that does not validate or whose rule tests fail."""

    default_code = "invalid_input"


class Forbidden(ServiceError):
    """The caller's role may not do this, or the control forbids this caller (maker-checker)."""

    default_code = "forbidden"


class TooManyAttempts(ServiceError):
    """Too many failed attempts of this kind lately (wrong passwords for one console username):
    refused without being checked until `retry_after` seconds have passed."""

    default_code = "too_many_attempts"


class Unavailable(ServiceError):
    """A resource the use case needs is down; nothing was stored; retry later."""

    default_code = "unavailable"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 retry_after: int | None = 1) -> None:
        super().__init__(message, code=code, details=details, retry_after=retry_after)
