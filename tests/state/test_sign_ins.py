"""Failed console sign-ins counted per username (app/state/sign_ins.py), in this process and in a
real Redis (the PostgreSQL + Redis run): counted in the window they fall in and the one before,
forgotten after, one name's failures never another's."""
import pytest
import redis

from app.state.sign_ins import InProcessSignIns, RedisSignIns

T0 = 1_800_000_000.0   # a fixed moment: the store never reads the clock
WINDOW = 900


@pytest.fixture(params=["in-process", "redis"])
def sign_ins(request, redis_url, clean_state):
    if request.param == "in-process":
        yield InProcessSignIns(WINDOW)
        return
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis store runs in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)
    yield RedisSignIns(client, WINDOW)
    client.close()


def test_failures_count_for_their_window_and_the_next_then_are_forgotten(sign_ins):
    assert sign_ins.failures("a", T0) == 0
    for _ in range(3):
        sign_ins.failed("a", T0)
    assert sign_ins.failures("a", T0) == 3
    assert sign_ins.failures("b", T0) == 0                  # another name: its own count
    assert sign_ins.failures("a", T0 + WINDOW) == 3         # the window after still sees them
    sign_ins.failed("a", T0 + WINDOW)
    assert sign_ins.failures("a", T0 + WINDOW) == 4
    assert sign_ins.failures("a", T0 + 2 * WINDOW) == 1     # the first three forgotten
    assert sign_ins.failures("a", T0 + 3 * WINDOW) == 0
    # window by window (what Retry-After is worked out from): (the one before, this one)
    assert sign_ins.window_counts("a", T0) == (0, 3)
    assert sign_ins.window_counts("a", T0 + WINDOW) == (3, 1)
    assert sign_ins.window_counts("a", T0 + 2 * WINDOW) == (1, 0)
    assert sign_ins.window_counts("b", T0) == (0, 0)


def test_a_redis_that_is_down_counts_nothing_and_says_so():
    down = RedisSignIns(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2), WINDOW)
    assert down.failures("a", T0) is None
    assert down.window_counts("a", T0) is None
    down.failed("a", T0)     # no exception: the sign-in goes on, the log says the count was lost
