"""Wrong console passwords counted per client address too (FIREFLY_SIGN_IN_FAILURE_LIMIT;
app/services/accounts.py): credential stuffing (a few common passwords tried against many usernames
from one address) never moves any one username's count, so past the limit the address itself is
refused, 429 with Retry-After and a page that says so, whatever it sends, a right password too,
until the window moves on; other addresses sign in as before; behind a proxy the address is the one
it forwards. No test waits: the window is the accounts' clock, set by the test."""
import datetime

import pytest
from prometheus_client import REGISTRY

from app import create_app
from app.extensions import services
from app.state import SIGN_IN_WINDOW
from support.settings import make_config

from .conftest import PASSWORD, csrf_token

STUFFER, NEIGHBOUR = "198.51.100.7", "203.0.113.9"
COMMON = "Password123!"


class Clock:
    def __init__(self):
        self.now = datetime.datetime(2026, 11, 28, 18, 30, tzinfo=datetime.timezone.utc)

    def __call__(self):
        return self.now


def refused(by):
    return REGISTRY.get_sample_value("firefly_sign_in_refused_total", {"by": by}) or 0


def failed():
    return REGISTRY.get_sample_value("firefly_sign_in_failures_total") or 0


@pytest.fixture
def make_app(database_url, redis_url, clean_state):
    made = []

    def make(**overrides):
        app = create_app(make_config(database_url, redis_url, **overrides))
        services(app).accounts.clock = clock = Clock()   # the accounts' clock: the test's
        services(app).accounts.create("li.wei", "compliance", PASSWORD)
        made.append(app)
        return app.test_client(), clock
    yield make
    for app in made:
        services(app).close()


def sign_in(client, username, password, address=STUFFER, **headers):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/console/sign-in", environ_base=environ, headers=headers)
    return client.post("/console/sign-in", environ_base=environ, headers=headers, data={
        "account-csrf_token": csrf_token(page.get_data(as_text=True)),
        "account-username": username, "account-password": password})


def test_many_usernames_from_one_address_are_held_back_and_another_address_is_not(make_app):
    client, clock = make_app(FIREFLY_SIGN_IN_FAILURE_LIMIT="5")
    before, before_failed = refused("address"), failed()
    assert [sign_in(client, f"user.{n}", COMMON).status_code for n in range(5)] == [401] * 5
    assert failed() == before_failed + 5
    held = sign_in(client, "user.5", COMMON)
    assert held.status_code == 429
    # all five in this window: they count through the next one too, and Retry-After says so
    assert SIGN_IN_WINDOW < int(held.headers["Retry-After"]) <= 2 * SIGN_IN_WINDOW + 1
    assert "此地址登录失败次数过多" in held.get_data(as_text=True)
    assert refused("address") == before + 1
    # the right password from that address: refused too while it is held back (not even checked)
    right = sign_in(client, "li.wei", PASSWORD)
    assert right.status_code == 429 and refused("address") == before + 2
    assert client.get("/console/decisions").status_code == 302             # not signed in
    # another address: its own count, signs in
    other = client.application.test_client()
    assert sign_in(other, "li.wei", PASSWORD, NEIGHBOUR).status_code == 303
    # the failures count in their window and the next; then the address may sign in again
    clock.now += datetime.timedelta(seconds=SIGN_IN_WINDOW)
    assert sign_in(client, "li.wei", PASSWORD).status_code == 429
    clock.now += datetime.timedelta(seconds=SIGN_IN_WINDOW)
    assert sign_in(client, "li.wei", PASSWORD).status_code == 303


def test_behind_a_proxy_the_address_counted_is_the_one_it_forwards(make_app):
    client, _ = make_app(FIREFLY_SIGN_IN_FAILURE_LIMIT="2", FIREFLY_TRUSTED_PROXIES=1)
    proxy = "127.0.0.1"
    forged = {"X-Forwarded-For": f"{NEIGHBOUR}, {STUFFER}"}   # the stuffer's own claim is ignored
    assert [sign_in(client, f"user.{n}", COMMON, proxy, **forged).status_code for n in range(3)] == [401, 401, 429]
    assert sign_in(client, "li.wei", PASSWORD, proxy, **{"X-Forwarded-For": STUFFER}).status_code == 429
    neighbour = client.application.test_client()
    assert sign_in(neighbour, "li.wei", PASSWORD, proxy, **{"X-Forwarded-For": NEIGHBOUR}).status_code == 303


def test_without_the_limit_only_each_username_is_counted(make_app):
    client, _ = make_app()   # testing: off unless set (production: on by default, tests/test_config.py)
    assert {sign_in(client, f"user.{n}", COMMON).status_code for n in range(12)} == {401}
    assert sign_in(client, "li.wei", PASSWORD).status_code == 303
