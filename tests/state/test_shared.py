"""The shared anti-fraud state (app/state/shared.py), on the in-process store and on a real Redis
(the PostgreSQL + Redis run): window boundaries, expiry and bounded memory, distinct counting, and
exact counts when threads and two processes record at once."""
import multiprocessing
import threading

import pytest
import redis

from app.state import shared as shared_module
from app.state.shared import PREFIX, Entry, InProcessShared, RedisShared

T0 = 1_800_000_000.0  # a fixed moment: the store never reads the clock
HOUR = 3600


@pytest.fixture(params=["in-process", "redis"])
def store(request, redis_url, clean_state):
    if request.param == "in-process":
        yield InProcessShared()
        return
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis store runs in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)
    yield RedisShared(client)
    client.close()


def count(store, key, member, now, window=HOUR, retention=31 * 86400):
    return store.record(now, [Entry(key, member, window, retention)])[0]


def test_an_event_just_inside_the_window_counts_and_one_just_outside_does_not(store):
    assert count(store, "ev:a:k", "e1", T0) == 1
    assert count(store, "ev:a:k", "e2", T0 + HOUR - 0.001) == 2   # e1 is 0.001 s inside
    assert count(store, "ev:a:k", "e3", T0 + HOUR) == 2           # e1 exactly an hour old: outside
    assert count(store, "ev:a:k", "e4", T0 + 2 * HOUR) == 1       # e2 and e3 an hour or more old


def test_a_member_seen_again_counts_once_and_moves_to_its_latest_time(store):
    assert count(store, "dv:resident_id:dev", "id-1", T0) == 1
    assert count(store, "dv:resident_id:dev", "id-2", T0 + 10) == 2
    assert count(store, "dv:resident_id:dev", "id-1", T0 + 20) == 2   # distinct: id-1 again
    assert count(store, "dv:resident_id:dev", "id-3", T0 + HOUR + 15) == 2  # id-2 aged out, id-1 kept
    assert store.recent([(["dv:resident_id:dev"], T0)])[0] == {"id-1": T0 + 20, "id-2": T0 + 10,
                                                               "id-3": T0 + HOUR + 15}


def test_recent_reads_every_key_of_a_query_and_keeps_each_members_latest_time(store):
    store.record(T0, [Entry("fraud:a", "d1", None, 86400), Entry("fraud:b", "d1", None, 86400),
                      Entry("fraud:b", "d2", None, 86400)])
    store.record(T0 + 50, [Entry("fraud:b", "d1", None, 86400)])
    found = store.recent([(["fraud:a", "fraud:b", "fraud:none"], T0 - 1), (["fraud:a"], T0)])
    assert found == [{"d1": T0 + 50, "d2": T0}, {}]


def test_members_older_than_the_retention_are_dropped_and_memory_is_bounded(store, monkeypatch):
    store.record(T0, [Entry("ev:a:old", "e1", None, 100)])
    assert count(store, "ev:a:old", "e2", T0 + 101, window=10_000, retention=100) == 1
    monkeypatch.setattr(shared_module, "MAX_MEMBERS", 5)
    for n in range(12):
        last = count(store, "ev:a:cap", f"e{n}", T0 + n, window=10_000)
    assert last == 5  # a key keeps its latest MAX_MEMBERS members: counts saturate there
    assert set(store.recent([(["ev:a:cap"], 0)])[0]) == {f"e{n}" for n in range(7, 12)}


def test_a_keys_first_use_is_kept_from_the_first_time_it_is_asked(store):
    """When a hashing key first wrote (app/services/velocity.py: how long old keys are written
    after a rotation): the first answer stays, whoever asks later."""
    assert store.first_used("kid-one", T0) == T0
    assert store.first_used("kid-one", T0 + 50) == T0
    assert store.first_used("kid-two", T0 + 60) == T0 + 60


def test_keys_expire_after_their_retention(redis_url, clean_state):
    memory = InProcessShared()
    memory.SWEEP_EVERY = 1
    memory.record(T0, [Entry("ev:a:x", "e", None, 60)])
    memory.record(T0 + 61, [Entry("ev:a:y", "e", None, 60)])
    assert memory.size() == 1  # x expired and was swept
    if redis_url is not None:
        client = redis.Redis.from_url(redis_url)
        RedisShared(client).record(T0, [Entry("ev:a:x", "e", None, 60)])
        assert 0 < client.ttl(PREFIX + "ev:a:x") <= 60
        client.close()


def test_threads_recording_at_once_get_exact_counts(store):
    seen, lock = [], threading.Lock()

    def work(thread):
        for n in range(50):
            got = count(store, "ev:a:busy", f"t{thread}-{n}", T0 + n / 100, window=10 * HOUR)
            with lock:
                seen.append(got)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # every step saw the state just after its own record: each count from 1 to 400 exactly once
    assert sorted(seen) == list(range(1, 401))


def _record_many(url, prefix, results):
    store = RedisShared(redis.Redis.from_url(url))
    results.put([count(store, "ev:a:procs", f"{prefix}-{n}", T0 + n / 100, window=10 * HOUR)
                 for n in range(200)])


def test_two_processes_recording_at_once_get_exact_counts(redis_url, clean_state):
    if redis_url is None:
        pytest.skip("REDIS_URL not set: two processes share counts only through Redis")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_record_many, args=(redis_url, p, results)) for p in "ab"]
    for worker in workers:
        worker.start()
    seen = results.get(timeout=120) + results.get(timeout=120)
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(seen) == list(range(1, 401))


def test_a_redis_that_cannot_be_reached_is_a_fact_not_an_exception():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    store = RedisShared(client)
    assert store.record(T0, [Entry("ev:a:k", "e", HOUR, 86400)]) is None
    assert store.recent([(["ev:a:k"], T0)]) is None
    assert store.record_and_read(T0, [Entry("ev:a:k", "e", HOUR, 86400)], [(["ev:a:k"], T0)]) is None


def test_record_and_read_is_a_record_then_a_read_in_one_step(store):
    """What the velocity part asks once per decision: its events recorded and counted, then the
    last-seen facts and links read, the read seeing the step's own records."""
    store.record(T0, [Entry("out:DECLINE:id", "d0", None, 86400), Entry("fraud:dev", "d9", None, 86400)])
    counts, found, since = store.record_and_read(
        T0 + 10, [Entry("ev:a:dev", "e1", HOUR, 86400), Entry("fraud:dev", "d1", None, 86400)],
        [(["out:DECLINE:id"], T0 - 1), (["fraud:dev", "fraud:none"], T0 + 5), ([], T0)])
    assert counts == [1, None]
    assert found == [{"d0": T0}, {"d1": T0 + 10}, {}]
    # Redis keeps when its memory began (the first write into it); a process does not
    memory = T0 if isinstance(store, RedisShared) else None
    assert since == memory
    assert store.record_and_read(T0 + 20, [Entry("ev:a:dev", "e2", HOUR, 86400)], []) == ([2], [], memory)


def test_an_emptied_redis_says_its_memory_began_again_and_accepting_the_loss_makes_it_whole(
        redis_url, clean_state):
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis store runs in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)
    store = RedisShared(client)
    assert store.record_and_read(T0, [Entry("ev:a:x", "e1", HOUR, 86400)], [])[2] == T0
    assert store.recent([(["ev:a:x"], 0)]) == [{"e1": T0}]  # a read alone sets nothing
    client.flushdb()  # what a restart without persistence, a flush or an eviction leaves
    assert store.recent([(["ev:a:x"], 0)]) == [{}]
    assert client.get(shared_module.MEMORY_SINCE) is None
    assert store.record_and_read(T0 + 50, [Entry("ev:a:x", "e2", HOUR, 86400)], [])[2] == T0 + 50
    assert store.accept_loss() == T0 + 50
    assert store.record_and_read(T0 + 60, [Entry("ev:a:x", "e3", HOUR, 86400)], [])[2] == 0.0
    client.close()


def test_the_redis_step_survives_a_script_cache_flushed_by_a_restart(redis_url, clean_state):
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis store runs in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)
    store = RedisShared(client)
    assert count(store, "ev:a:flush", "e1", T0) == 1
    client.script_flush()  # what a restarted Redis has forgotten
    assert count(store, "ev:a:flush", "e2", T0 + 1) == 2
    client.close()


def test_a_redis_holding_the_old_key_layout_reads_as_memory_begun_at_the_upgrade(redis_url, clean_state):
    """Keys before 2026-11-30 were a value's hash without its kind (`firefly:shared:ev:...`): not
    the layout the service reads now. Such a store is a store whose memory begins at the upgrade,
    so values reaching back before it are missing (REFER) until rebuilt or the loss is accepted,
    never counted from zero as if nothing had happened."""
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis store runs in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)
    assert PREFIX != "firefly:shared:" and PREFIX.startswith("firefly:shared:")
    client.set("firefly:shared:memory-since", T0 - 86400)  # the old layout's marker and a counter
    client.zadd("firefly:shared:ev:applications:abc", {"e0": T0 - 60})
    store = RedisShared(client)
    counts, _, since = store.record_and_read(T0, [Entry("ev:applications:device.device_id:abc", "e1", HOUR, 86400)], [])
    assert (counts, since) == ([1], T0)
    client.close()


def test_a_replayed_fact_keeps_each_members_latest_moment_and_counts_nothing(store):
    """A rebuild's facts at their own past moments (SharedState.replay): an older moment never
    moves a member seen later back (a rebuild over facts recorded live after a flush), a newer one
    moves it on; members older than the retention at `now` are dropped; the next count sees them."""
    store.record(T0 + 100, [Entry("dv:resident_id:dev", "id-1", HOUR, 86400)])  # recorded live
    assert store.replay(T0 + 200, [(T0 + 10, Entry("dv:resident_id:dev", "id-1", HOUR, 86400)),
                                   (T0 + 20, Entry("dv:resident_id:dev", "id-2", HOUR, 86400)),
                                   (T0 - 86400 + 150, Entry("dv:resident_id:dev", "id-0", HOUR, 86400)),
                                   (T0 + 150, Entry("fraud:a", "d1", None, 86400))]) == 4
    assert store.recent([(["dv:resident_id:dev"], 0), (["fraud:a"], 0)]) == [
        {"id-1": T0 + 100, "id-2": T0 + 20}, {"d1": T0 + 150}]  # id-0 already past its retention
    assert count(store, "dv:resident_id:dev", "id-3", T0 + 300) == 3
    store.replay(T0 + 400, [(T0 + 350, Entry("dv:resident_id:dev", "id-2", HOUR, 86400))])
    assert store.recent([(["dv:resident_id:dev"], T0 + 340)]) == [{"id-2": T0 + 350}]
    assert store.replay(T0, []) == 0


def test_a_replay_marks_no_memory_and_never_shortens_a_keys_life(redis_url, clean_state):
    if redis_url is None:
        pytest.skip("REDIS_URL not set: the Redis store runs in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)
    store = RedisShared(client)
    store.replay(T0, [(T0 - 1000, Entry("out:DECLINE:x", "d1", None, 5000))])
    assert client.get(shared_module.MEMORY_SINCE) is None  # the next live write says when it began
    assert 3990 <= client.ttl(PREFIX + "out:DECLINE:x") <= 4000  # its retention after the moment
    store.replay(T0, [(T0 - 3000, Entry("out:DECLINE:x", "d0", None, 5000))])
    assert 3990 <= client.ttl(PREFIX + "out:DECLINE:x") <= 4000  # an older fact: not shorter
    store.replay(T0, [(T0 - 10, Entry("out:DECLINE:x", "d2", None, 5000))])
    assert 4980 <= client.ttl(PREFIX + "out:DECLINE:x") <= 4990
    client.close()


def test_a_rebuild_marks_the_memory_whole_only_if_it_did_not_begin_again_meanwhile(store):
    """memory_began and rebuilt (app/services/velocity_rebuild.py): the marker is moved back to
    the rebuild's start only from the value the rebuild found; a memory emptied during the
    rebuild began again and is not marked; one already whole from earlier stays so."""
    assert store.memory_began(T0) == T0            # no marker: marked now, as a first write would
    assert store.memory_began(T0 + 10) == T0
    assert store.rebuilt(T0 - 5000, T0) is True
    assert store.memory_began(T0 + 20) == T0 - 5000
    assert store.rebuilt(T0 - 3000, T0) is True    # whole from earlier already: unchanged
    assert store.memory_began(T0 + 30) == T0 - 5000
    assert store.rebuilt(T0 - 9000, T0) is False   # it began at T0 - 5000 now: not the rebuild's
    assert store.memory_began(T0 + 40) == T0 - 5000
    if isinstance(store, RedisShared):
        for key in store.client.scan_iter("firefly:*", count=1000):  # emptied (the suite's keys only)
            store.client.delete(key)
        assert store.rebuilt(T0 - 9000, T0 - 5000) is False  # emptied: nothing marked
        assert store.client.get(shared_module.MEMORY_SINCE) is None
        store.record(T0 + 50, [Entry("ev:a:x", "e", HOUR, 86400)])  # began again, live
        assert store.rebuilt(T0 - 9000, T0 - 5000) is False
        assert store.memory_began(T0 + 60) == T0 + 50
