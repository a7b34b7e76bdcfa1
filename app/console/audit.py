"""Console views the use cases do not record themselves: a decision read, a search and a replay go
to the access audit through records and replaying (with the signed-in person as the caller); the
policy pages are recorded here, in the same chained access log."""
from __future__ import annotations

from typing import Any

from app.console.access import principal, request_id
from app.extensions import services


def viewed(what: str, **details: Any) -> None:
    """Record a view of the policy pages (an access that cannot be recorded is not shown:
    the use case raises Unavailable)."""
    services().access_audit.record(principal(), f"console.{what}", [], details, request_id())
