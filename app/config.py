"""Configuration from the environment (12-factor), with safe local defaults.

`from_environment()` gives the Flask config mapping (tests lay overrides over it); `Settings` is the
typed view of it that the use cases are built from (app/services/__init__.py), so no service reads
configuration by string key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit
from pathlib import Path
from typing import Any, Mapping

from app.engine import BACKENDS
from app.state.rate_limits import RateLimitError, parse_by_key, parse_limits

REPO_ROOT = Path(__file__).resolve().parent.parent

# Well-known development values: fine on a laptop, refused in production.
DEV_SECRET_KEY = "firefly-dev-secret-key-not-for-production"
DEV_HMAC_KEY = "firefly-dev-pii-hmac-key-not-for-production"
DEV_API_KEYS = ("dev-channel:channel:dev-channel-key,dev-compliance:compliance:dev-compliance-key,"
                "dev-admin:admin:dev-admin-key,dev-author:author:dev-author-key,"
                "dev-approver:approver:dev-approver-key,dev-underwriter:underwriter:dev-underwriter-key")


class ConfigError(RuntimeError):
    """The configuration is unsafe or malformed; the service must not start."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int_env(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def from_environment() -> dict[str, Any]:
    """Read every setting the service knows about from the environment."""
    env = _env("FIREFLY_ENV", "development")
    return {
        "FIREFLY_ENV": env,
        "SECRET_KEY": _env("FIREFLY_SECRET_KEY", DEV_SECRET_KEY),
        "FIREFLY_HMAC_KEY": _env("FIREFLY_HMAC_KEY", _env("FIREFLY_SECRET_KEY", DEV_HMAC_KEY)),
        # Earlier FIREFLY_HMAC_KEY values, comma-separated: what they hashed and sealed stays usable.
        "FIREFLY_HMAC_OLD_KEYS": _env("FIREFLY_HMAC_OLD_KEYS", ""),
        # The chained logs (docs/controls.md): seconds between sealing passes in each worker (0: only
        # `flask audit seal`), and days after which `flask audit purge` removes sealed personal data.
        "FIREFLY_SEAL_INTERVAL": float(_env("FIREFLY_SEAL_INTERVAL", "2")),
        "FIREFLY_PII_RETENTION_DAYS": _int_env("FIREFLY_PII_RETENTION_DAYS", 0),
        # Seconds between each worker's look at the active release (activation reaches every worker).
        "FIREFLY_RELEASE_POLL": float(_env("FIREFLY_RELEASE_POLL", "2")),
        # Submitting a release also runs both engine backends on its rule tests (durable verification).
        "FIREFLY_RELEASE_VERIFY_BACKENDS": _env("FIREFLY_RELEASE_VERIFY_BACKENDS", "0") == "1",
        "DATABASE_URL": _env("DATABASE_URL", f"sqlite:///{REPO_ROOT / 'var' / 'firefly.db'}"),
        "REDIS_URL": _env("REDIS_URL"),
        "FIREFLY_API_KEYS": _env("FIREFLY_API_KEYS", DEV_API_KEYS if env != "production" else ""),
        "FIREFLY_POLICY_ROOT": _env("FIREFLY_POLICY_ROOT", str(REPO_ROOT)),
        "FIREFLY_RUN_POLICY_TESTS": _env("FIREFLY_RUN_POLICY_TESTS", "1") == "1",
        # compiled or durable for every policy; unset, each policy's `engine:` decides
        "FIREFLY_ENGINE": _env("FIREFLY_ENGINE") or None,
        "MAX_CONTENT_LENGTH": _int_env("FIREFLY_MAX_BODY_BYTES", 64 * 1024),
        "FIREFLY_DB_LOCK_TIMEOUT_MS": _int_env("FIREFLY_DB_LOCK_TIMEOUT_MS", 10000),
        "FIREFLY_IDEMPOTENCY_TTL": _int_env("FIREFLY_IDEMPOTENCY_TTL", 24 * 3600),
        # A claim in progress expires after the lease (a killed worker's key frees itself); a retry
        # waits up to the wait for the first request's decision before answering 409.
        "FIREFLY_IDEMPOTENCY_LEASE": _int_env("FIREFLY_IDEMPOTENCY_LEASE", 10),
        "FIREFLY_IDEMPOTENCY_WAIT_MS": _int_env("FIREFLY_IDEMPOTENCY_WAIT_MS", 5000),
        "FIREFLY_PAGE_SIZE_MAX": 200,
        "FIREFLY_FLOOR_ENDPOINT": _env("FIREFLY_FLOOR_ENDPOINT", "0") == "1",
        "FIREFLY_FLOOR_PAD_BYTES": _int_env("FIREFLY_FLOOR_PAD_BYTES", 8000),
        "JSON_SORT_KEYS": False,
        # worker processes of a backtest run as a background job by the API (1: its own thread)
        "FIREFLY_BACKTEST_WORKERS": _int_env("FIREFLY_BACKTEST_WORKERS", 1),
        # The console (app/console): a session ends after this many minutes without a request.
        "FIREFLY_CONSOLE_IDLE_MINUTES": _int_env("FIREFLY_CONSOLE_IDLE_MINUTES", 15),
        # ... and this many hours after it began however busy (a stolen cookie in use does not live for ever).
        "FIREFLY_CONSOLE_MAX_HOURS": _int_env("FIREFLY_CONSOLE_MAX_HOURS", 12),
        # Seconds a worker's copy of the anti-fraud lists may go without checking the lists' version
        # (an entry added elsewhere is matched everywhere within this bound; 0: checked every decision).
        "FIREFLY_LIST_CHECK_SECONDS": float(_env("FIREFLY_LIST_CHECK_SECONDS", "1")),
        # Its session cookie is Secure (sent over HTTPS only; browsers also send it to
        # http://localhost and 127.0.0.1); 0 only for a plain-HTTP test host.
        "SESSION_COOKIE_SECURE": _env("FIREFLY_CONSOLE_SECURE_COOKIE", "1") == "1",
        # Requests each API key may send (app/state/rate_limits.py): "100/second;3000/minute" for
        # every key, "none" for no limit (a gateway in front limits each channel); per key name:
        # "partner-a=20/second,branch=5/second". Production requires FIREFLY_RATE_LIMIT to be said.
        "FIREFLY_RATE_LIMIT": _env("FIREFLY_RATE_LIMIT", ""),
        "FIREFLY_RATE_LIMITS_BY_KEY": _env("FIREFLY_RATE_LIMITS_BY_KEY", ""),
        # Wrong API keys one client address may send (app/state/auth_failures.py) before it is
        # refused (429) whatever key it sends, in moving windows: "10/minute;100/hour", "none" for
        # no count. Unset: AUTH_FAILURE_LIMIT_PRODUCTION in production, none elsewhere.
        "FIREFLY_AUTH_FAILURE_LIMIT": _env("FIREFLY_AUTH_FAILURE_LIMIT"),
        # Wrong console passwords one client address may send within 15 to 30 minutes (whatever the
        # usernames) before it is refused (429) whatever it sends: a number, "none" for no count.
        # Unset: SIGN_IN_FAILURE_LIMIT_PRODUCTION in production, none elsewhere.
        "FIREFLY_SIGN_IN_FAILURE_LIMIT": _env("FIREFLY_SIGN_IN_FAILURE_LIMIT"),
        # Proxies in front that append the client's address to X-Forwarded-For (deploy/nginx.conf:
        # 1). 0: the client connects directly. Production requires it to be said: behind a proxy
        # left at 0, every client has the proxy's address, and one guesser's wrong keys lock out all.
        "FIREFLY_TRUSTED_PROXIES": _env("FIREFLY_TRUSTED_PROXIES"),
    }


@dataclass(frozen=True)
class Settings:
    """What the use cases need to know, typed."""

    env: str
    database_url: str
    redis_url: str | None
    hmac_key: str
    api_keys: str
    policy_root: str
    run_policy_tests: bool
    engine: str | None  # compiled or durable for every policy; None: each policy's own
    db_lock_timeout_ms: int
    idempotency_ttl: int
    hmac_old_keys: tuple[str, ...] = ()
    seal_interval: float = 2.0
    pii_retention_days: int = 0  # 0: kept (no purge)
    release_poll: float = 2.0
    release_verify_backends: bool = False
    idempotency_lease: int = 10
    idempotency_wait_ms: int = 5000
    backtest_workers: int = 1
    console_idle_minutes: int = 15
    console_max_hours: int = 12
    list_check_seconds: float = 1.0  # how stale a worker's copy of the lists may be (app/services/lists.py)
    rate_limit: str = ""          # every key's request limits ("" or "none": none)
    rate_limits_by_key: str = ""  # a key name's own: "partner-a=20/second,..."
    auth_failure_limit: str = ""  # wrong API keys per client address ("" or "none": not counted)
    sign_in_failure_limit: int = 0  # wrong console passwords per client address (0: not counted)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> "Settings":
        return cls(env=config["FIREFLY_ENV"], database_url=config["DATABASE_URL"],
                   redis_url=config.get("REDIS_URL"), hmac_key=config["FIREFLY_HMAC_KEY"],
                   api_keys=config.get("FIREFLY_API_KEYS") or "",
                   policy_root=config["FIREFLY_POLICY_ROOT"],
                   run_policy_tests=bool(config["FIREFLY_RUN_POLICY_TESTS"]),
                   engine=config.get("FIREFLY_ENGINE"),
                   db_lock_timeout_ms=int(config["FIREFLY_DB_LOCK_TIMEOUT_MS"]),
                   idempotency_ttl=int(config["FIREFLY_IDEMPOTENCY_TTL"]),
                   hmac_old_keys=tuple(filter(None, (k.strip() for k in
                                                     (config.get("FIREFLY_HMAC_OLD_KEYS") or "").split(",")))),
                   seal_interval=float(config.get("FIREFLY_SEAL_INTERVAL", 2.0)),
                   pii_retention_days=int(config.get("FIREFLY_PII_RETENTION_DAYS", 0)),
                   release_poll=float(config.get("FIREFLY_RELEASE_POLL", 2.0)),
                   release_verify_backends=bool(config.get("FIREFLY_RELEASE_VERIFY_BACKENDS", False)),
                   idempotency_lease=int(config.get("FIREFLY_IDEMPOTENCY_LEASE", 10)),
                   idempotency_wait_ms=int(config.get("FIREFLY_IDEMPOTENCY_WAIT_MS", 5000)),
                   backtest_workers=int(config.get("FIREFLY_BACKTEST_WORKERS", 1)),
                   console_idle_minutes=int(config.get("FIREFLY_CONSOLE_IDLE_MINUTES", 15)),
                   console_max_hours=int(config.get("FIREFLY_CONSOLE_MAX_HOURS", 12)),
                   list_check_seconds=float(config.get("FIREFLY_LIST_CHECK_SECONDS", 1.0)),
                   rate_limit=config.get("FIREFLY_RATE_LIMIT") or "",
                   rate_limits_by_key=config.get("FIREFLY_RATE_LIMITS_BY_KEY") or "",
                   auth_failure_limit=auth_failure_limit(config),
                   sign_in_failure_limit=sign_in_failure_limit(config))

    @property
    def production(self) -> bool:
        return self.env == "production"


MIN_PRODUCTION_KEY = 32  # characters of a configured API key in production
# Wrong API keys per client address when FIREFLY_AUTH_FAILURE_LIMIT is not set in production: a
# channel that mistypes its key a few times is not held back, a guesser gets 100 tries an hour.
AUTH_FAILURE_LIMIT_PRODUCTION = "10/minute;100/hour"


def auth_failure_limit(config: Mapping[str, Any]) -> str:
    """FIREFLY_AUTH_FAILURE_LIMIT, or its default: on in production, off elsewhere."""
    value = config.get("FIREFLY_AUTH_FAILURE_LIMIT")
    if value is None or not str(value).strip():
        return AUTH_FAILURE_LIMIT_PRODUCTION if config.get("FIREFLY_ENV") == "production" else ""
    return str(value)


# Wrong console passwords per client address when FIREFLY_SIGN_IN_FAILURE_LIMIT is not set in
# production, counted over 15 to 30 minutes (app/state/sign_ins.py): three people behind one
# address who each mistype ten times are not held back; credential stuffing gets 30 tries, not
# one per username.
SIGN_IN_FAILURE_LIMIT_PRODUCTION = 30


def sign_in_failure_limit(config: Mapping[str, Any]) -> int:
    """FIREFLY_SIGN_IN_FAILURE_LIMIT as a number (0: not counted), or its default: on in
    production, off elsewhere."""
    value = config.get("FIREFLY_SIGN_IN_FAILURE_LIMIT")
    text = "" if value is None else str(value).strip().lower()
    if text == "":
        return SIGN_IN_FAILURE_LIMIT_PRODUCTION if config.get("FIREFLY_ENV") == "production" else 0
    if text == "none":
        return 0
    try:
        limit = int(text)
    except ValueError:
        limit = -1
    if not 1 <= limit <= 1_000_000:
        raise ConfigError(f"FIREFLY_SIGN_IN_FAILURE_LIMIT must be a number of wrong console passwords "
                          f"per client address (such as 30), or none, not {value!r}")
    return limit


def trusted_proxies(config: Mapping[str, Any]) -> int:
    """FIREFLY_TRUSTED_PROXIES as a count of proxies (0 when not set)."""
    value = config.get("FIREFLY_TRUSTED_PROXIES")
    if value is None or str(value).strip() == "":
        return 0
    try:
        count = int(value)
    except ValueError:
        count = -1
    if not 0 <= count <= 5:
        raise ConfigError(f"FIREFLY_TRUSTED_PROXIES must be a number of proxies from 0 to 5, not {value!r}")
    return count


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse to run with an unknown engine, or in production with development secrets or keys,
    SQLite, no Redis or the benchmark endpoint."""
    if config.get("FIREFLY_ENGINE") not in (None, *BACKENDS):
        raise ConfigError(f"FIREFLY_ENGINE must be one of {', '.join(BACKENDS)}, "
                          f"not {config['FIREFLY_ENGINE']!r}")
    try:
        parse_limits(config.get("FIREFLY_RATE_LIMIT") or "")
        parse_by_key(config.get("FIREFLY_RATE_LIMITS_BY_KEY") or "")
    except RateLimitError as error:
        raise ConfigError(f"FIREFLY_RATE_LIMIT(S_BY_KEY): {error}") from None
    try:
        parse_limits(auth_failure_limit(config))
    except RateLimitError as error:
        raise ConfigError(f"FIREFLY_AUTH_FAILURE_LIMIT: {error}") from None
    trusted_proxies(config)
    sign_in_failure_limit(config)
    if config.get("FIREFLY_ENV") != "production":
        return
    problems = []
    if not (config.get("FIREFLY_RATE_LIMIT") or "").strip():
        # one channel's flood (a retry loop, a stolen key) takes the workers from every other
        problems.append("FIREFLY_RATE_LIMIT must be set in production: the requests each API key may "
                        "send (such as 100/second;3000/minute), or none when a gateway in front "
                        "limits each channel")
    if str(config.get("FIREFLY_TRUSTED_PROXIES") or "").strip() == "" \
            and config.get("FIREFLY_TRUSTED_PROXIES") != 0:
        # the wrong keys are counted per client address: behind a proxy, read from X-Forwarded-For
        problems.append("FIREFLY_TRUSTED_PROXIES must be set in production: the number of proxies in "
                        "front that add the client's address to X-Forwarded-For (1 behind "
                        "deploy/nginx.conf, 0 when clients connect directly); wrong API keys are "
                        "counted per client address, and behind a proxy left unsaid every client has "
                        "the proxy's")
    if config["SECRET_KEY"] in (DEV_SECRET_KEY, None) or len(config["SECRET_KEY"]) < 32:
        problems.append("FIREFLY_SECRET_KEY must be set to a random value of at least 32 characters")
    if config["FIREFLY_HMAC_KEY"] in (DEV_HMAC_KEY, DEV_SECRET_KEY, None) or len(config["FIREFLY_HMAC_KEY"]) < 32:
        problems.append("FIREFLY_HMAC_KEY must be set to a random value of at least 32 characters")
    if "dev-" in (config.get("FIREFLY_API_KEYS") or "") and "-key" in config["FIREFLY_API_KEYS"]:
        problems.append("FIREFLY_API_KEYS holds development keys")
    # A key is the caller's whole identity, tried online by anyone who reaches the API or the
    # console's key sign-in: as long as the other secrets (flask keys create makes 46 characters)
    short = [item.split(":", 1)[0] for item in filter(None, (p.strip() for p in
                                                              (config.get("FIREFLY_API_KEYS") or "").split(",")))
             if len(item.split(":", 2)[-1]) < MIN_PRODUCTION_KEY]
    if short:
        problems.append(f"FIREFLY_API_KEYS: the keys of {', '.join(short)} are shorter than {MIN_PRODUCTION_KEY} "
                        "characters (make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if config["DATABASE_URL"].startswith("sqlite"):
        problems.append("DATABASE_URL must name a server database (PostgreSQL) in production")
    if not config.get("REDIS_URL"):
        # the in-process store is the embedded default for one developer's machine: in
        # production it would let a burst spread over workers (or hosts) be counted in parts,
        # and every restart would forget the anti-fraud memory
        problems.append("REDIS_URL must be set in production: without it the anti-fraud counters, "
                        "links and last-seen facts live in each worker's process, so a burst spread "
                        "over workers is counted in parts and a restart forgets them")
    elif not urlsplit(config["REDIS_URL"]).password:
        # whoever can write to it can erase a fraud ring's counts, a declined applicant's
        # cooling-off or the links to fraud, and answer a retried request for another's decision
        problems.append("REDIS_URL must carry a password in production (redis://:PASSWORD@host:6379/0, or "
                        "redis://USER:PASSWORD@... with a Redis ACL user): the anti-fraud memory and the "
                        "idempotency claims live there, and an unauthenticated Redis lets anyone who "
                        "reaches it erase a fraud ring's counts")
    if config.get("FIREFLY_FLOOR_ENDPOINT"):
        problems.append("FIREFLY_FLOOR_ENDPOINT is a benchmark aid, not for production")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))
