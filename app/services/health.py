"""Readiness: can this process decide now? The database reachable and policies loaded make it
ready; Redis only speeds idempotency up (the database's unique key guards without it), so Redis down
leaves the process ready but degraded: said in the answer and in metrics, never a reason for a load
balancer to take a working instance out. So are anti-fraud marks owed (`velocity_marks`: stored
decisions whose marks Redis refused, not yet written)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app import metrics
from app.services.registry import PolicyRegistry
from app.services.velocity import Velocity
from app.state import State
from app.storage.db import Database

# Without these the process cannot decide; the others only make it degraded.
REQUIRED = ("database", "policies")


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]

    @property
    def degraded(self) -> list[str]:
        """The optional dependencies that are down."""
        return [name for name, value in self.checks.items() if name not in REQUIRED and value != "ok"]

    @property
    def status(self) -> str:
        if not self.ready:
            return "not ready"
        return "degraded" if self.degraded else "ready"


def _probe(check: Callable[[], object]) -> str:
    try:
        check()
        return "ok"
    except Exception as error:  # noqa: BLE001 - a readiness probe reports, it does not fail
        return f"unavailable: {type(error).__name__}"


def _owed(velocity: Velocity) -> str:
    try:
        owed = velocity.owed()
    except Exception as error:  # noqa: BLE001 - a readiness probe reports, it does not fail
        return f"unavailable: {type(error).__name__}"
    if owed is None or owed[0] == 0:
        return "ok"
    count, earliest = owed
    since = "-" if earliest is None else earliest.isoformat(timespec="seconds")
    return (f"owed: {count} stored decisions' marks not written yet, the earliest decided {since} "
            f"(written by the next look-up that reaches Redis; else `flask velocity rebuild --since "
            f"{since[:10]}`)")


def readiness(database: Database, state: State, registry: PolicyRegistry,
              velocity: Velocity | None = None) -> Readiness:
    checks = {"database": _probe(database.ping)}
    if state.client is not None:
        checks["redis"] = _probe(state.ping)
        # the anti-fraud counters live there too: while Redis is down, shared-state values are
        # missing and policies answer as they say (the reference policy REFERs); so they are
        # while its memory began after decisions their windows cover (emptied, not yet accepted)
        checks["velocity"] = checks["redis"]
        if checks["velocity"] == "ok" and velocity is not None and velocity.incomplete:
            checks["velocity"] = velocity.incomplete
        if velocity is not None and velocity.database is not None:
            # stored decisions whose marks Redis refused (a declined applicant's cooling-off):
            # owed in the database until a worker writes them; degraded, never not ready
            checks["velocity_marks"] = (_owed(velocity) if checks["database"] == "ok"
                                        else "unknown: database unavailable")
    checks["policies"] = "ok" if registry.current().policies else "none loaded"
    for name, value in checks.items():
        metrics.observe_dependency(name, value == "ok")
    return Readiness(all(checks[name] == "ok" for name in REQUIRED), checks)
