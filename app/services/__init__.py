"""The use cases, one module each, callable without Flask from the API, the CLI, a batch job or a
console alike. `build(settings)` wires them once per process; app/extensions.py hands them to Flask.

Services raise the domain errors of app/services/errors.py, never HTTP errors.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from app.config import Settings
from app.privacy import PersonalData
from app.services.access import Access
from app.services.identity import Identities
from app.services.integrity import Integrity
from app.services.access_audit import AccessAudit
from app.services.audit_log import AuditLog
from app.services.backtest import Backtesting
from app.services.accounts import Accounts
from app.services.clock import Clock, utc_now
from app.services.deciding import Deciding
from app.services.challengers import Comparing
from app.services.health import Readiness, readiness
from app.services.key_attempts import KeyAttempts
from app.services.key_use import KeyInventory
from app.services.lists import Lists
from app.services.velocity import Velocity
from app.services.velocity_rebuild import Rebuilding
from app.services.monitoring import Monitoring
from app.services.periodic_review import PortfolioReview
from app.services.policy_store import PolicyStore
from app.services.records import Records
from app.services.releases import Releases
from app.services.registry import PolicyRegistry
from app.services.replay import Replaying
from app.services.reviews import ReviewDesk
from app.services.simulation import Simulating
from app.services.versions import PolicyVersions
from app.state import State, open_state
from app.state.auth_failures import AuthFailures
from app.state.rate_limits import RateLimits
from app.storage.db import Database


@dataclass
class Services:
    """Everything one process serves with, built from its settings."""

    settings: Settings
    database: Database
    state: State
    personal: PersonalData
    access: Access
    policy_store: PolicyStore
    registry: PolicyRegistry
    records: Records
    deciding: Deciding
    replaying: Replaying
    audit_log: AuditLog
    access_audit: AccessAudit
    releases: Releases
    reviews: ReviewDesk
    simulating: Simulating
    backtesting: Backtesting
    accounts: Accounts
    versions: PolicyVersions
    monitoring: Monitoring | None = None   # set by build (issue 14: model monitoring)
    comparing: Comparing | None = None     # set by build (issue 14: champion/challenger)
    lists: Lists | None = None             # set by build (issue 12: anti-fraud lists)
    periodic_review: PortfolioReview | None = None   # set by build: the batch review of a portfolio
    keys: KeyInventory | None = None       # set by build: what each hashing key is still needed for
    rebuilding: Rebuilding | None = None   # set by build: the anti-fraud memory from stored decisions
    integrity: Integrity | None = None     # set by build: releases and policy versions as approved
    identities: Identities | None = None   # set by build: stored keys and console accounts as made here
    rate_limits: RateLimits | None = None  # set by build: the requests each API key may send
    key_attempts: KeyAttempts | None = None  # set by build: wrong API keys counted per address

    def readiness(self) -> Readiness:
        return readiness(self.database, self.state, self.registry, self.deciding.velocity)

    def close(self) -> None:
        self.audit_log.stop()
        self.registry.stop()
        self.database.dispose()
        self.state.close()


def build(settings: Settings, clock: Clock = utc_now, load_policies: bool = True) -> Services:
    """Connect the adapters and wire the use cases; load the policies unless asked not to."""
    database = Database(settings.database_url, settings.db_lock_timeout_ms)
    state = open_state(settings.redis_url, settings.idempotency_ttl, settings.idempotency_lease)
    personal = PersonalData(settings.hmac_key, settings.hmac_old_keys)
    store = PolicyStore(database)
    access_audit = AccessAudit(database, personal, clock)
    releases = Releases(database, personal, access_audit, production=settings.production,
                        engine=settings.engine, clock=clock,
                        verify_backends=settings.release_verify_backends)
    registry = PolicyRegistry(settings.policy_root, store, run_tests=settings.run_policy_tests,
                              engine=settings.engine, releases=releases)
    records = Records(database, personal, access_audit)
    access = Access(database, settings.api_keys, settings.production, personal, access_audit)
    lists = Lists(database, personal, clock, settings.list_check_seconds, audit=access_audit)
    velocity = Velocity(state.shared, lists, personal, database, access_audit)
    key_attempts = KeyAttempts(access, AuthFailures(settings.auth_failure_limit, state.client))
    services = Services(
        settings=settings, database=database, state=state, personal=personal,
        access=access,
        policy_store=store, registry=registry, records=records,
        deciding=Deciding(registry, store, database, state.claims, personal, clock,
                          claim_wait=settings.idempotency_wait_ms / 1000, velocity=velocity),
        replaying=Replaying(records, registry, store, personal, settings.engine),
        audit_log=AuditLog(database, personal, clock, access_audit, settings.pii_retention_days),
        access_audit=access_audit, releases=releases,
        reviews=ReviewDesk(database, personal, records, access_audit, clock, registry, store, velocity),
        simulating=Simulating(settings.policy_root, settings.engine, releases),
        backtesting=Backtesting(database, personal, store, registry, settings.engine, clock,
                                settings.backtest_workers, releases),
        accounts=Accounts(database, access, clock,
                          datetime.timedelta(minutes=settings.console_idle_minutes), state.sign_ins,
                          datetime.timedelta(hours=settings.console_max_hours), key_attempts,
                          settings.sign_in_failure_limit),
        versions=PolicyVersions(database))
    services.monitoring = Monitoring(database)
    services.comparing = Comparing(database, registry)
    services.lists = lists
    services.periodic_review = PortfolioReview(database, registry, store, personal, clock)
    services.keys = KeyInventory(database, personal, velocity, clock)
    services.rebuilding = Rebuilding(velocity, database, store, personal, access_audit, clock)
    services.integrity = Integrity(database, personal, access_audit)
    services.identities = Identities(database, personal, access_audit)
    services.key_attempts = key_attempts
    services.rate_limits = RateLimits(settings.rate_limit, settings.rate_limits_by_key, state.client)
    velocity.pay_owed = services.rebuilding.pay_owed  # the marks owed: written as a rebuild writes them
    velocity.write_review = services.rebuilding.write_review  # a DECLINE on review marks as one decided
    if load_policies:
        registry.start()
    return services
