"""FIREFLY_ENGINE: one engine backend for every policy of the service."""
import pytest

from app import create_app
from app.config import ConfigError
from app.extensions import services
from support.applicants import applicants
from support.keys import KEYS
from support.settings import make_config

URL = "/v1/decisions/zhishandai.application"


@pytest.fixture
def durable_app(database_url, redis_url, clean_state):
    app = create_app(make_config(database_url, redis_url, FIREFLY_ENGINE="durable"))
    yield app
    services(app).close()


def test_the_configured_engine_decides_and_replays_identically(durable_app):
    client = durable_app.test_client()
    policy = services(durable_app).registry.current().policies["zhishandai.application"]
    assert policy.engine == "durable"
    for body in applicants(policy, 10, seed=3):
        response = client.post(URL + "?trace=true", json=body,
                               headers={"X-API-Key": KEYS["channel"]})
        assert response.status_code == 201, response.get_json()
        decision = response.get_json()
        assert decision["policy"]["engine"] == "durable"
        replay = client.post(f"/v1/decisions/{decision['decision_id']}/replay",
                             headers={"X-API-Key": KEYS["compliance"]}).get_json()
        assert replay["replayed_policy"]["engine"] == "durable"
        assert replay["identical"], replay["differences"]


def test_an_unknown_engine_refuses_to_start(database_url, redis_url, clean_state):
    with pytest.raises(ConfigError, match="FIREFLY_ENGINE"):
        create_app(make_config(database_url, redis_url, FIREFLY_ENGINE="fast"))
