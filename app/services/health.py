"""Readiness: can this process decide now? (database reachable, Redis if configured, policies loaded)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app.services.registry import PolicyRegistry
from app.state import State
from app.storage.db import Database


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]


def _probe(check: Callable[[], object]) -> str:
    try:
        check()
        return "ok"
    except Exception as error:  # noqa: BLE001 - a readiness probe reports, it does not fail
        return f"unavailable: {type(error).__name__}"


def readiness(database: Database, state: State, registry: PolicyRegistry) -> Readiness:
    checks = {"database": _probe(database.ping)}
    if state.client is not None:
        checks["redis"] = _probe(state.ping)
    checks["policies"] = "ok" if registry.current().policies else "none loaded"
    return Readiness(all(value == "ok" for value in checks.values()), checks)
