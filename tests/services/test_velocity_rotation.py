"""Rotating FIREFLY_HMAC_KEY keeps the anti-fraud memory (app/services/velocity.py): counts,
distinct counts, last-seen facts and fraud links go on across a rotation exactly as if the key had
never changed. Without it, a fraud ring that knew the day of a rotation would apply unseen: every
counter would start again at 1.

The property test runs the same drawn stream of applications (a few devices, IDs and phones,
time gaps from seconds to months, decisions remembered as the service does) twice: once under one
key throughout, once with the key rotated at a drawn step. Every shared value of every application
must be the same. It runs on the in-process store and, in the PostgreSQL + Redis run, on Redis."""
import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.read.shared import MAX_WINDOW_SECONDS
from app.privacy import PersonalData
from support.shared_state import DEVICES, START, Run, typed_application

OLD, NEW = "the-old-secret-of-at-least-thirty-two-chars", "the-new-secret-of-at-least-thirty-two-chars"
GAPS = [0, 1, 600, 3600, 5 * 3600, 86400, 3 * 86400, 8 * 86400, 29 * 86400, 40 * 86400, 200 * 86400]


def test_a_burst_that_straddles_a_rotation_is_counted_whole(policy, lists, make_store):
    run = Run(policy, lists, make_store(), PersonalData(OLD))
    before = [run.apply(typed_application(policy, 0, n, n), START + datetime.timedelta(minutes=n))[0]
              for n in range(2)]
    assert before[1]["shared.device_applications_1h"] == 2
    run.restart(PersonalData(NEW, [OLD]))
    values, outcome = run.apply(typed_application(policy, 0, 2, 2), START + datetime.timedelta(minutes=2))
    # the third application from the device in the hour, with a third ID: as without a rotation
    assert values["shared.device_applications_1h"] == 3
    assert values["shared.ids_per_device_7d"] == 3
    assert outcome == "DECLINE"
    # the decline (a burst: a fraud reason) marks the ID and links the device, under both keys
    later = START + datetime.timedelta(days=3)
    values, _ = run.apply(typed_application(policy, 1, 2, 9), later)
    assert values["shared.days_since_decline"] == 2  # 3 days less 2 minutes: 2 whole days
    values, _ = run.apply(typed_application(policy, 0, 7, 7), later)
    assert values["shared.fraud_links_30d"] == 1


def test_an_old_key_is_written_only_while_the_new_one_is_younger_than_the_retention(
        policy, lists, make_store):
    store = make_store()
    old, new = PersonalData(OLD), PersonalData(NEW, [OLD])
    run = Run(policy, lists, store, new)
    typed = typed_application(policy, 0, 1, 1)
    device_key = "ev:applications:device.device_id:"
    old_hash = old.keyed_hash(DEVICES[0])[:32]
    new_hash = new.keyed_hash(DEVICES[0])[:32]

    def events_under(key_hash):
        return set(store.recent([([device_key + key_hash], 0)])[0])

    run.apply(typed, START)  # the new key's first write: it is "first used" now
    assert events_under(old_hash) == events_under(new_hash) == {"event-1"}
    just_young = START + datetime.timedelta(seconds=MAX_WINDOW_SECONDS - 1)
    run.apply(typed, just_young)
    assert events_under(old_hash) == {"event-1", "event-2"}
    mature = START + datetime.timedelta(seconds=MAX_WINDOW_SECONDS)
    values, _ = run.apply(typed, mature)
    assert "event-3" not in events_under(old_hash) and "event-3" in events_under(new_hash)
    # the count is the new key's alone now: event-2, a second earlier, is under it too
    assert values["shared.device_applications_24h"] == 2
    # a restarted worker asks the store when the key first wrote: not from its own start
    run.restart(PersonalData(NEW, [OLD]))
    run.apply(typed, mature + datetime.timedelta(seconds=1))
    assert "event-4" not in events_under(old_hash)


def test_with_one_key_nothing_else_is_written_or_asked(policy, lists, make_store):
    """The usual case costs what it did: one key, no question about when it first wrote."""
    store = make_store()
    Run(policy, lists, store, PersonalData(OLD)).apply(typed_application(policy, 0, 1, 1), START)
    assert store.first_used("never-asked", START.timestamp() + 5) == START.timestamp() + 5
    assert store.first_used(PersonalData(OLD).key_id, START.timestamp() + 6) == START.timestamp() + 6


steps = st.lists(st.tuples(st.sampled_from(GAPS), st.integers(0, 2), st.integers(0, 3), st.integers(0, 3)),
                 min_size=2, max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=steps, data=st.data())
def test_every_shared_value_is_the_same_as_if_the_key_had_never_changed(policy, lists, make_store,
                                                                         stream, data):
    rotation = data.draw(st.integers(0, len(stream)), label="rotated before step")
    twice = data.draw(st.booleans(), label="rotated again three steps later")
    third = "a-third-secret-of-at-least-thirty-two-chars"
    unchanged = Run(policy, lists, make_store(), PersonalData(OLD))
    expected, now = [], START
    for gap, device, person, phone in stream:
        now += datetime.timedelta(seconds=gap)
        expected.append(unchanged.apply(typed_application(policy, device, person, phone), now))
    rotated = Run(policy, lists, make_store(), PersonalData(OLD))
    got, now = [], START
    for step, (gap, device, person, phone) in enumerate(stream):
        if step == rotation:
            rotated.restart(PersonalData(NEW, [OLD]))
        if twice and step == rotation + 3:
            rotated.restart(PersonalData(third, [NEW, OLD]))
        now += datetime.timedelta(seconds=gap)
        got.append(rotated.apply(typed_application(policy, device, person, phone), now))
    assert got == expected


def test_a_decline_marked_after_this_applications_moment_is_zero_days_ago(policy, lists, make_store):
    """Concurrent requests: one takes its moment, another takes a later one, is declined and
    marks the ID first; the first then reads the mark. Zero days since, not -1 (which the engine
    refuses: a 500 the fault suite met under load)."""
    run = Run(policy, lists, make_store(), PersonalData(OLD))
    outcomes = [run.apply(typed_application(policy, 0, 2, n), START + datetime.timedelta(minutes=n))[1]
                for n in range(3)]
    assert outcomes[2] == "DECLINE"  # a burst, marked at START + 2 minutes
    earlier = START + datetime.timedelta(minutes=1, seconds=30)
    found = run.velocity.lookup(policy, typed_application(policy, 1, 2, 9), "event-late", earlier)
    assert found.values["shared.days_since_decline"] == 0
    policy.decide(typed_application(policy, 1, 2, 9), shared=found.values)  # accepted by the engine
