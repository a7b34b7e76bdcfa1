"""Configuration: production refuses development secrets; keys parse strictly."""
import pytest

from app import create_app
from app.config import ConfigError, check_production, from_environment
from app.services.access import parse_api_keys

STRONG = "x" * 40


def production(**overrides):
    config = from_environment()
    config.update(FIREFLY_ENV="production", SECRET_KEY=STRONG, FIREFLY_HMAC_KEY="y" * 40,
                  DATABASE_URL="postgresql+psycopg://db/firefly",
                  REDIS_URL="redis://:a-long-redis-password@cache:6379/0",
                  FIREFLY_API_KEYS="", FIREFLY_RATE_LIMIT="100/second;3000/minute",
                  FIREFLY_TRUSTED_PROXIES="1")
    config.update(overrides)
    return config


def test_production_with_real_secrets_passes():
    check_production(production())
    check_production(production(FIREFLY_API_KEYS="bank-app:channel:" + "k" * 32))
    check_production(production(FIREFLY_RATE_LIMIT="none"))  # a gateway in front limits: said


@pytest.mark.parametrize("overrides, complaint", [
    ({"SECRET_KEY": "firefly-dev-secret-key-not-for-production"}, "FIREFLY_SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "FIREFLY_SECRET_KEY"),
    ({"FIREFLY_HMAC_KEY": "firefly-dev-pii-hmac-key-not-for-production"}, "FIREFLY_HMAC_KEY"),
    ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL"),
    ({"FIREFLY_FLOOR_ENDPOINT": True}, "FIREFLY_FLOOR_ENDPOINT"),
    # the anti-fraud counters in each worker's process: a burst over workers counted in parts
    ({"REDIS_URL": None}, "REDIS_URL must be set in production"),
    ({"REDIS_URL": ""}, "REDIS_URL must be set in production"),
    # an unauthenticated Redis: anyone who reaches it can erase a fraud ring's counts
    ({"REDIS_URL": "redis://cache:6379/0"}, "REDIS_URL must carry a password"),
    ({"REDIS_URL": "rediss://reader@cache:6380/0"}, "REDIS_URL must carry a password"),
    # one channel's flood takes the workers from every other: say each key's limit (or none)
    ({"FIREFLY_RATE_LIMIT": ""}, "FIREFLY_RATE_LIMIT must be set in production"),
    # wrong keys are counted per client address: behind a proxy left unsaid, all share the proxy's
    ({"FIREFLY_TRUSTED_PROXIES": None}, "FIREFLY_TRUSTED_PROXIES must be set in production"),
    ({"FIREFLY_TRUSTED_PROXIES": "nginx"}, "FIREFLY_TRUSTED_PROXIES must be a number"),
    ({"FIREFLY_AUTH_FAILURE_LIMIT": "ten a minute"}, "FIREFLY_AUTH_FAILURE_LIMIT"),
    ({"FIREFLY_SIGN_IN_FAILURE_LIMIT": "thirty"}, "FIREFLY_SIGN_IN_FAILURE_LIMIT"),
    ({"FIREFLY_SIGN_IN_FAILURE_LIMIT": "0"}, "FIREFLY_SIGN_IN_FAILURE_LIMIT"),
    # a key is tried online by anyone who reaches the API: as long as the other secrets
    ({"FIREFLY_API_KEYS": "bank-app:channel:" + "k" * 40 + ",partner-a:channel[device.channel=PARTNER]:short-key-1"},
     "the keys of partner-a are shorter than 32 characters"),
])
def test_production_refuses_defaults(overrides, complaint):
    with pytest.raises(ConfigError, match=complaint):
        check_production(production(**overrides))


def test_the_wrong_key_count_is_on_by_default_in_production_only():
    from app.config import AUTH_FAILURE_LIMIT_PRODUCTION, Settings
    assert Settings.from_mapping(production()).auth_failure_limit == AUTH_FAILURE_LIMIT_PRODUCTION
    assert Settings.from_mapping(production(FIREFLY_AUTH_FAILURE_LIMIT="none")).auth_failure_limit == "none"
    assert Settings.from_mapping({**production(), "FIREFLY_ENV": "development"}).auth_failure_limit == ""
    check_production(production(FIREFLY_TRUSTED_PROXIES="0"))
    check_production(production(FIREFLY_TRUSTED_PROXIES=0))


def test_the_wrong_password_count_per_address_is_on_by_default_in_production_only():
    from app.config import SIGN_IN_FAILURE_LIMIT_PRODUCTION, Settings
    assert SIGN_IN_FAILURE_LIMIT_PRODUCTION > 0
    assert Settings.from_mapping(production()).sign_in_failure_limit == SIGN_IN_FAILURE_LIMIT_PRODUCTION
    assert Settings.from_mapping(production(FIREFLY_SIGN_IN_FAILURE_LIMIT="none")).sign_in_failure_limit == 0
    assert Settings.from_mapping(production(FIREFLY_SIGN_IN_FAILURE_LIMIT="12")).sign_in_failure_limit == 12
    assert Settings.from_mapping({**production(), "FIREFLY_ENV": "development"}).sign_in_failure_limit == 0
    with pytest.raises(ConfigError, match="FIREFLY_SIGN_IN_FAILURE_LIMIT"):
        check_production({**production(), "FIREFLY_ENV": "development", "FIREFLY_SIGN_IN_FAILURE_LIMIT": "-3"})


def test_create_app_refuses_development_keys_in_production():
    config = production(FIREFLY_API_KEYS="dev-channel:channel:dev-channel-key")
    with pytest.raises(ConfigError, match="development keys"):
        create_app(config)


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.setenv("FIREFLY_POLICY_ROOT", "/srv/policies")
    config = from_environment()
    assert (config["DATABASE_URL"], config["REDIS_URL"], config["FIREFLY_POLICY_ROOT"]) == \
        ("sqlite:////tmp/elsewhere.db", "redis://127.0.0.1:6379/5", "/srv/policies")


@pytest.mark.parametrize("text", ["a:root:longenoughkey", "a:channel:short", "nocolons"])
def test_bad_api_key_entries_are_refused(text):
    with pytest.raises(ConfigError):
        parse_api_keys(text)


def test_api_keys_are_held_as_hashes():
    keys = parse_api_keys("bank-app:channel:secret-key-1")
    assert "secret-key-1" not in repr(keys) and len(next(iter(keys))) == 64
