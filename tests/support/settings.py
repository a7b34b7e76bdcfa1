"""The configuration of the test apps: the repository's policies, the test keys, no rule tests on
every load (they have their own tests)."""
import os
from pathlib import Path

from app.config import Settings, from_environment
from support.keys import TEST_API_KEYS

REPO = Path(__file__).resolve().parent.parent.parent
POLICY_ROOT = Path(os.environ.get("FIREFLY_POLICY_ROOT") or REPO)  # what the test apps serve


def make_config(database_url, redis_url, **overrides):
    config = {"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
              "FIREFLY_API_KEYS": TEST_API_KEYS,
              "FIREFLY_POLICY_ROOT": str(POLICY_ROOT),
              "FIREFLY_RUN_POLICY_TESTS": False, "FIREFLY_ENV": "testing",
              # lists added through another process (the CLI) are matched at once; the bound on a
              # worker's copy of the lists has its own tests (tests/services/test_lists_copy.py)
              "FIREFLY_LIST_CHECK_SECONDS": 0}
    config.update(overrides)
    return config


def make_settings(database_url, redis_url, **overrides):
    """The typed settings the use cases are built from, as create_app would make them."""
    return Settings.from_mapping({**from_environment(), **make_config(database_url, redis_url, **overrides)})
