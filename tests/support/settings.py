"""The configuration of the test apps: the repository's policies, the test keys, no rule tests on
every load (they have their own tests)."""
import os
from pathlib import Path

from support.keys import TEST_API_KEYS

REPO = Path(__file__).resolve().parent.parent.parent


def make_config(database_url, redis_url, **overrides):
    config = {"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
              "FIREFLY_API_KEYS": TEST_API_KEYS,
              "FIREFLY_POLICY_ROOT": os.environ.get("FIREFLY_POLICY_ROOT") or str(REPO),
              "FIREFLY_RUN_POLICY_TESTS": False, "FIREFLY_ENV": "testing"}
    config.update(overrides)
    return config
