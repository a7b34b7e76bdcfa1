"""Prometheus metrics; under gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR.

The use cases count what happened (observe_decision, observe_reload); the API serves /metrics and
counts requests.
"""
from __future__ import annotations

import os
from typing import Iterable

from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest,
                               multiprocess)

DECISIONS = Counter("firefly_decisions_total", "Decisions stored, by policy and outcome",
                    ["policy", "outcome"])
DECISION_SECONDS = Histogram("firefly_decision_seconds", "Time to decide and store one decision",
                             ["policy"], buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
RULE_HITS = Counter("firefly_rule_hits_total", "Rules matched in stored decisions", ["policy", "rule"])
RELOADS = Counter("firefly_policy_reloads_total", "Policy reloads, by result", ["result"])
RELOAD_FAILURES = Counter("firefly_policy_reload_failures_total", "Policy reloads rejected")
REQUESTS = Counter("firefly_http_requests_total", "HTTP requests by route and status",
                   ["method", "route", "status"])
# Each time a stored record was found not to be what this service made (a MAC or hash that does
# not match) where it was about to be used: alert on any increase (docs/controls.md).
TAMPERING = Counter("firefly_tampering_detected_total",
                    "Stored records refused because they are not what the service made, by kind", ["kind"])
RATE_LIMITED = Counter("firefly_rate_limited_total",
                       "Requests refused (429) because their API key sent more than its limit", ["key"])
# Wrong API keys (the API's X-API-Key, the console's key sign-in), and attempts refused (429)
# because their address sent too many wrong ones lately (FIREFLY_AUTH_FAILURE_LIMIT): someone is
# guessing keys, or a channel was given a revoked one.
AUTH_FAILURES = Counter("firefly_auth_failures_total", "Requests with a wrong API key, by interface", ["where"])
AUTH_REFUSED = Counter("firefly_auth_refused_total",
                       "Attempts refused (429) because their address sent too many wrong API keys", ["where"])
# Wrong passwords at the console's sign-in, and sign-ins refused (429) because their username, or
# their client address (FIREFLY_SIGN_IN_FAILURE_LIMIT), had too many lately: a password guessed, or
# credential stuffing (a few common passwords tried against many usernames from one address).
SIGN_IN_FAILURES = Counter("firefly_sign_in_failures_total", "Console sign-ins with a wrong password")
SIGN_IN_REFUSED = Counter("firefly_sign_in_refused_total",
                          "Console sign-ins refused (429) for too many wrong passwords, by what was "
                          "counted (username, address)", ["by"])

# 1 when the dependency answered the last readiness probe of a worker, else 0 (the least over live workers).
DEPENDENCY_UP = Gauge("firefly_dependency_up", "Whether a dependency answered the last readiness probe",
                      ["dependency"], multiprocess_mode="livemin")


def observe_decision(policy: str, outcome: str, hits: Iterable[str], seconds: float) -> None:
    DECISIONS.labels(policy, outcome).inc()
    DECISION_SECONDS.labels(policy).observe(seconds)
    for rule in hits:
        RULE_HITS.labels(policy, rule).inc()


def observe_reload(ok: bool) -> None:
    RELOADS.labels("ok" if ok else "rejected").inc()
    if not ok:
        RELOAD_FAILURES.inc()


def observe_tampering(kind: str) -> None:
    """A stored record refused where it was to be used (or shown as altered): decision, release,
    release_event, log_head, review, access_event, policy_version, api_key, console_account,
    console_session, list_entry."""
    TAMPERING.labels(kind).inc()


def observe_rate_limited(key_name: str) -> None:
    """A request refused for its key's limit (app/state/rate_limits.py), by key name (few)."""
    RATE_LIMITED.labels(key_name).inc()


def observe_auth_failure(where: str) -> None:
    """A wrong API key (app/services/key_attempts.py), by interface (api, console)."""
    AUTH_FAILURES.labels(where).inc()


def observe_auth_refused(where: str) -> None:
    """An attempt refused for its address's wrong keys (app/services/key_attempts.py)."""
    AUTH_REFUSED.labels(where).inc()


def observe_sign_in_failure() -> None:
    """A wrong console password (app/services/accounts.py)."""
    SIGN_IN_FAILURES.inc()


def observe_sign_in_refused(by: str) -> None:
    """A console sign-in refused for its username's or its address's wrong passwords."""
    SIGN_IN_REFUSED.labels(by).inc()


def observe_dependency(name: str, up: bool) -> None:
    DEPENDENCY_UP.labels(name).set(1 if up else 0)


def observe_request(method: str, route: str, status: int) -> None:
    REQUESTS.labels(method, route, str(status)).inc()


def exposition() -> bytes:
    """Every metric in the text exposition format: of all workers under gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return generate_latest(collected)
    return generate_latest(REGISTRY)
