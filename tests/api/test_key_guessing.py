"""Wrong API keys counted per client address (FIREFLY_AUTH_FAILURE_LIMIT; app/services/key_attempts.py):
past the limit an address is 429 with Retry-After whatever key it sends, a right one too, until the
moving window lets it try again; other addresses are served; the console's key sign-in counts in the
same count; right keys are never counted. With REDIS_URL set (the PostgreSQL + Redis run) the count
is Redis's, one for every worker.

No test waits: the moving windows read the clock through `time.time()` in the `limits` library,
which the `clock` fixture moves on by hand (the windows themselves are the library's, in real Redis)."""
import re
import time as real_time

import pytest
from prometheus_client import REGISTRY

from app import create_app
from app.extensions import services
from support.keys import KEYS
from support.settings import make_config

POLICIES = "/v1/policies"
GUESSER, OTHER = "198.51.100.7", "203.0.113.9"
TOKEN = re.compile(r'name="key-csrf_token" type="hidden" value="([^"]+)"|'
                   r'type="hidden" name="key-csrf_token" value="([^"]+)"|'
                   r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"')


def refused(where):
    return REGISTRY.get_sample_value("firefly_auth_refused_total", {"where": where}) or 0


def failures(where):
    return REGISTRY.get_sample_value("firefly_auth_failures_total", {"where": where}) or 0


class Clock:
    """time.time() for the `limits` library, moved by hand; everything else of `time` as it is."""

    def __init__(self) -> None:
        self.now = real_time.time()

    def time(self) -> float:
        return self.now

    def __getattr__(self, name):
        return getattr(real_time, name)


@pytest.fixture
def clock(monkeypatch):
    moved = Clock()
    import limits.storage.memory
    import limits.storage.redis
    import limits.strategies

    import app.state.auth_failures
    import app.state.rate_limits
    for module in (limits.storage.redis, limits.storage.memory, limits.strategies, app.state.rate_limits,
                   app.state.auth_failures):
        monkeypatch.setattr(module, "time", moved)
    return moved


@pytest.fixture
def make_app(database_url, redis_url, clean_state):
    made = []

    def make(**overrides):
        app = create_app(make_config(database_url, redis_url, **overrides))
        made.append(app)
        return app.test_client()
    yield make
    for app in made:
        services(app).close()


def get(client, key, address=GUESSER, **headers):
    return client.get(POLICIES, headers={"X-API-Key": key, **headers}, environ_base={"REMOTE_ADDR": address})


def test_past_the_limit_an_address_is_429_even_with_the_right_key_and_others_are_served(make_app, clock):
    client = make_app(FIREFLY_AUTH_FAILURE_LIMIT="3/minute")
    before, failed_before = refused("api"), failures("api")
    assert [get(client, f"guess-{n}").status_code for n in range(3)] == [401, 401, 401]
    assert failures("api") == failed_before + 3
    answer = get(client, KEYS["compliance"])   # the right key, now: refused unread
    assert answer.status_code == 429
    assert answer.get_json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(answer.headers["Retry-After"]) <= 61   # whole seconds, rounded up
    assert get(client, "guess-4").status_code == 429
    assert refused("api") == before + 2
    # another address: its own count, served with its key, its wrong keys 401
    assert get(client, KEYS["compliance"], OTHER).status_code == 200
    assert get(client, "guess-5", OTHER).status_code == 401
    # the window passes: the address may try again, and a right key is served
    clock.now += 59
    assert get(client, KEYS["compliance"]).status_code == 429
    clock.now += 2
    assert get(client, KEYS["compliance"]).status_code == 200


def test_right_keys_are_never_counted(make_app, clock):
    client = make_app(FIREFLY_AUTH_FAILURE_LIMIT="3/minute")
    assert {get(client, KEYS["compliance"]).status_code for _ in range(10)} == {200}
    assert [get(client, f"guess-{n}").status_code for n in range(4)] == [401, 401, 401, 429]


def test_a_request_without_a_key_is_no_guess(make_app, clock):
    client = make_app(FIREFLY_AUTH_FAILURE_LIMIT="2/minute")
    assert {client.get(POLICIES, environ_base={"REMOTE_ADDR": GUESSER}).status_code for _ in range(5)} == {401}
    assert get(client, KEYS["compliance"]).status_code == 200


def test_the_console_key_sign_in_is_counted_in_the_same_count(make_app, clock):
    client = make_app(FIREFLY_AUTH_FAILURE_LIMIT="3/minute")
    before = refused("console")
    statuses = [sign_in_with_key(client, f"guess-{n}").status_code for n in range(2)]
    assert statuses == [401, 401]
    assert get(client, "guess-api").status_code == 401   # the third wrong key, through the API
    held = sign_in_with_key(client, KEYS["compliance"])  # the right console key, now: refused
    assert held.status_code == 429 and 1 <= int(held.headers["Retry-After"]) <= 61
    assert "API 密钥次数过多" in held.get_data(as_text=True)
    assert refused("console") == before + 1
    assert get(client, KEYS["compliance"]).status_code == 429
    assert sign_in_with_key(client, KEYS["compliance"], OTHER).status_code == 303   # another address
    clock.now += 61
    assert sign_in_with_key(client, KEYS["compliance"]).status_code == 303


def test_with_redis_the_count_is_one_for_every_worker(make_app, redis_url, clock):
    first, second = (make_app(FIREFLY_AUTH_FAILURE_LIMIT="3/minute") for _ in range(2))
    answers = [get(worker, f"guess-{n}").status_code for n, worker in enumerate((first, second, first))]
    assert answers == [401, 401, 401]
    if redis_url:   # the PostgreSQL + Redis run: one count in Redis
        assert get(second, KEYS["compliance"]).status_code == 429
    else:           # no Redis: each worker counts its own (docs/controls.md says so)
        assert get(second, KEYS["compliance"]).status_code == 200


def test_a_worker_takes_a_free_count_as_read_for_a_second_only(make_app, redis_url, clock):
    """A right key does not ask the count at every request: a worker that found the address free
    takes it as read for CHECK_SECONDS, then asks again (the bound docs/controls.md states)."""
    if not redis_url:
        pytest.skip("one count for two workers needs Redis")
    first, second = (make_app(FIREFLY_AUTH_FAILURE_LIMIT="3/minute") for _ in range(2))
    assert get(first, KEYS["compliance"]).status_code == 200
    assert [get(second, f"guess-{n}").status_code for n in range(4)] == [401, 401, 401, 429]
    assert get(first, KEYS["compliance"]).status_code == 200    # read less than a second ago
    clock.now += 1.01
    assert get(first, KEYS["compliance"]).status_code == 429


def test_behind_a_proxy_the_address_is_the_one_it_forwards(make_app, clock):
    client = make_app(FIREFLY_AUTH_FAILURE_LIMIT="2/minute", FIREFLY_TRUSTED_PROXIES=1)
    proxy = "127.0.0.1"
    # the guesser forges an address of its own first: the proxy appends the one it saw, which counts
    forged = {"X-Forwarded-For": f"{OTHER}, {GUESSER}"}
    assert [get(client, f"guess-{n}", proxy, **forged).status_code for n in range(3)] == [401, 401, 429]
    assert get(client, KEYS["compliance"], proxy, **{"X-Forwarded-For": OTHER}).status_code == 200
    assert get(client, KEYS["compliance"], proxy, **{"X-Forwarded-For": GUESSER}).status_code == 429


def test_ipv6_addresses_are_counted_by_their_network(make_app, clock):
    client = make_app(FIREFLY_AUTH_FAILURE_LIMIT="2/minute")
    assert get(client, "guess-1", "2001:db8:1:2::1").status_code == 401
    assert get(client, "guess-2", "2001:db8:1:2:ffff::9").status_code == 401
    assert get(client, KEYS["compliance"], "2001:db8:1:2::77").status_code == 429
    assert get(client, KEYS["compliance"], "2001:db8:1:3::1").status_code == 200


def test_without_the_limit_nothing_is_counted_or_refused(make_app, clock):
    client = make_app()   # testing: off unless set (production: on by default, tests/test_config.py)
    assert {get(client, f"guess-{n}").status_code for n in range(20)} == {401}
    assert get(client, KEYS["compliance"]).status_code == 200


def sign_in_with_key(client, key, address=GUESSER):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/console/sign-in", environ_base=environ).get_data(as_text=True)
    found = TOKEN.search(page)
    assert found, "no CSRF token on the sign-in page"
    token = next(group for group in found.groups() if group)
    return client.post("/console/sign-in", data={"key-csrf_token": token, "key-api_key": key},
                       environ_base=environ)
