"""A channel key bound to input values: a partner's system sends only device.channel=PARTNER.

The channel decides the partner channel's cap (200,000 CNY a borrower, as regulation of internet
lending asks) and the partner rules; it was a field of the body, so a partner's system that wrote
BANK_APP lent its customers up to the bank's own caps. A key can now be bound to the values of
input fields (`name:channel[device.channel=PARTNER]:key`, or `flask keys create NAME channel
--bind device.channel=PARTNER`); anything else is refused with 403 before it is counted or
decided."""
import pytest
from sqlalchemy import func, select, update

from app import create_app
from app.extensions import services
from app.storage.models import ApiKey, Decision
from support.applicants import examples
from support.http import URL
from support.keys import TEST_API_KEYS
from support.settings import make_config

PARTNER_KEY = "partner-app-key-0123456789"


@pytest.fixture
def partnered(database_url, redis_url, clean_state):
    app = create_app(make_config(database_url, redis_url, FIREFLY_API_KEYS=(
        TEST_API_KEYS + f",partner-a:channel[device.channel=PARTNER]:{PARTNER_KEY}")))
    yield app
    services(app).close()


def stored(app):
    with services(app).database.session() as session:
        return session.scalar(select(func.count()).select_from(Decision))


def body(channel):
    application = examples()["approve_salaried"]
    if channel is None:
        application["device"].pop("channel", None)
    else:
        application["device"]["channel"] = channel
    return application


def test_a_partner_key_saying_bank_app_is_refused_and_nothing_is_counted(partnered, auth):
    client = partnered.test_client()
    # the same applicant through the bank's own app: above the partner channel's cap
    own = client.post(URL, json=body("BANK_APP"), headers=auth("channel")).get_json()
    assert own["outcome"] == "APPROVE" and own["limit"] > 200000
    before = stored(partnered)
    for channel in ("BANK_APP", "BRANCH", None):
        answer = client.post(URL, json=body(channel), headers={"X-API-Key": PARTNER_KEY})
        assert answer.status_code == 403, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "field_not_allowed"
        assert error["details"] == {"device.channel": ["must be PARTNER for this key"]}
    assert stored(partnered) == before
    partner = client.post(URL, json=body("PARTNER"), headers={"X-API-Key": PARTNER_KEY})
    assert partner.status_code == 201
    assert partner.get_json()["limit"] <= 200000  # the partner channel's cap applies
    assert stored(partnered) == before + 1


def test_a_stored_key_bound_by_the_cli_and_its_binding_removed_in_the_database(runner, app, auth):
    made = runner.invoke(args=["keys", "create", "partner-b", "channel", "--bind", "device.channel=PARTNER"])
    assert made.exit_code == 0, made.output
    key = made.output.strip()
    listed = runner.invoke(args=["keys", "list"]).output
    assert "partner-b\tchannel[device.channel=PARTNER]" in listed
    client = app.test_client()
    assert client.post(URL, json=body("BANK_APP"), headers={"X-API-Key": key}).status_code == 403
    assert client.post(URL, json=body("PARTNER"), headers={"X-API-Key": key}).status_code == 201
    # the binding dropped by an UPDATE: the key's MAC no longer matches, so it authenticates nobody
    with services(app).database.session() as session:
        session.execute(update(ApiKey).where(ApiKey.name == "partner-b").values(binds=None))
        session.commit()
    assert client.post(URL, json=body("BANK_APP"), headers={"X-API-Key": key}).status_code == 401
    bad = runner.invoke(args=["keys", "create", "partner-c", "channel", "--bind", "device.channel"])
    assert bad.exit_code != 0 and "device.channel=PARTNER" in bad.output
