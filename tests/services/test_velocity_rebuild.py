"""Rebuilding the anti-fraud memory from stored decisions (app/services/velocity_rebuild.py,
`flask velocity rebuild`): after Redis is emptied, the rebuild puts back every count, distinct
count, last-seen fact and fraud link the stored decisions recorded, so that the next applications
read exactly what they would have read had nothing been lost; it counts nothing twice (run twice,
or over decisions recorded live after the flush), and the memory is whole again (no `incomplete`
value, /readyz ok).

Applications go through the service (Deciding, on the real database) with a clock the test moves;
"what the next applications read" is a series of probe look-ups (every device with every ID) made
on the memory before it was emptied and again after the rebuild. On Redis (the PostgreSQL + Redis
run) and on the in-process store."""
import datetime
import itertools

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.engine.language.resident_id import compose
from app.services import build, velocity_rebuild
from app.services.access import Principal
from app.services.access_audit import AuditSearch
from app.services.clock import business_date
from app.privacy import PersonalData
from app.services.deciding import DecisionRequest
from app.services.errors import Forbidden, InvalidInput
from app.services.reviews import Review
from app.services.velocity import Velocity
from app.state.shared import MEMORY_SINCE, PREFIX, InProcessShared
from support.applicants import as_of, examples
from support.settings import make_settings
from support.tamper import tamper

BORN = datetime.date(1990, 5, 14)
CHANNEL = Principal("test-channel", "channel")
ADMIN = Principal("ops-admin", "admin")
OLD, NEW = "the-old-secret-of-at-least-thirty-two-chars", "the-new-secret-of-at-least-thirty-two-chars"
GAPS = [0, 60, 600, 3600, 5 * 3600, 86400, 8 * 86400, 29 * 86400, 40 * 86400]


@pytest.fixture
def make_firefly(database_url, redis_url, clean_state, clock, store_kind):
    """make(**settings) -> the services, on the kind of store under test (Redis: this test's
    database number, emptied first)."""
    built = {}

    def make(**overrides):
        key = tuple(sorted(overrides.items()))
        if key not in built:
            built[key] = World(build(make_settings(
                database_url, redis_url if store_kind == "redis" else None, **overrides), clock=clock), clock)
        return built[key]

    yield make
    for world in built.values():
        world.firefly.close()


@pytest.fixture
def world(make_firefly):
    return make_firefly()


def forget(client) -> None:
    keys = list(client.scan_iter("firefly:*", count=1000))
    if keys:
        client.delete(*keys)


class World:
    """The service, its clock, and what a test does to its memory."""

    def __init__(self, firefly, clock):
        self.firefly, self.clock = firefly, clock
        self.velocity = firefly.deciding.velocity
        self.policy = firefly.registry.current().policies["zhishandai.application"]
        self.probes = 0
        self.examples = 0  # hypothesis examples run in this world: each has its own IDs and phones

    def body(self, device: str, person: int, phone: int) -> dict:
        body = as_of(examples("approve_salaried")["approve_salaried"], business_date(self.clock.now))
        body["applicant"]["id_number"] = compose("330106", BORN, 100 + 4 * self.examples + person)
        body["applicant"]["mobile"] = f"138{self.examples:04d}{phone:04d}"
        body["device"]["device_id"] = device
        return body

    def decide(self, device: str, person: int, phone: int, key: str | None = None) -> dict:
        request = DecisionRequest("zhishandai.application", self.body(device, person, phone), CHANNEL,
                                  f"req-{self.clock.now.timestamp()}", idempotency_key=key, trace="full")
        return self.firefly.deciding.decide(request).answer

    def read(self, devices, people) -> list:
        """What the next applications read: a look-up for every device with every ID (each
        counts itself, as an application does: the same series before and after)."""
        found = []
        for device, person in itertools.product(devices, people):
            self.probes += 1
            typed = self.policy.parse_input(self.body(device, person, person))
            got = self.velocity.lookup(self.policy, typed, f"probe-{self.probes}", self.clock.now)
            found.append((device, person, got.values, got.sources))
        return found

    def empty(self) -> None:
        """What a Redis restarted without persistence (or flushed) holds: nothing of the service
        (every `firefly:` key of this test's Redis database, as the suite cleans it; never a
        FLUSHDB of a Redis the suite may share); for the in-process store, a restarted process."""
        if isinstance(self.velocity.shared, InProcessShared):
            self.velocity.shared = InProcessShared()
        else:
            forget(self.velocity.shared.client)

    def rebuild(self, **kwargs):
        return self.firefly.rebuilding.rebuild(ADMIN, "Redis restarted without its AOF", **kwargs)


def test_a_burst_a_decline_and_a_fraud_link_are_remembered_after_an_emptied_redis(world):
    t0 = world.clock.now
    answers = []
    for n in range(3):  # three IDs from one device within the hour: the third is a burst
        world.clock.now = t0 + datetime.timedelta(minutes=10 * n)
        answers.append(world.decide("DEV-REB-0001", n, n))
    assert [a["outcome"] for a in answers] == ["APPROVE", "APPROVE", "DECLINE"]
    assert "DEVICE_BURST" in [r["code"] for r in answers[2]["reasons"]]
    world.clock.now = t0 + datetime.timedelta(minutes=40)
    before = world.read(["DEV-REB-0001", "DEV-REB-0002"], [2, 7])
    world.empty()
    if world.velocity.shared.kind == "redis":  # forgotten: missing, and the policy REFERs
        emptied = world.read(["DEV-REB-0001"], [2])[0]
        assert emptied[3]["shared.device_applications_1h"] == "incomplete"
        assert emptied[3]["shared.days_since_decline"] == "incomplete"
        assert world.firefly.readiness().checks["velocity"].startswith("incomplete")
        world.empty()
    world.probes = 0
    done = world.rebuild()
    assert (done.decisions, sum(done.skipped.values()), done.emptied_meanwhile) == (3, 0, False)
    assert done.facts > 0 and done.whole_since is not None
    after = world.read(["DEV-REB-0001", "DEV-REB-0002"], [2, 7])
    assert after == before
    first = dict(after[0][2])
    # the fourth from the device in the hour (the probe), the declined ID 0 days ago, and the
    # device, phone and contact's phone linked to the burst's decline
    assert first["shared.device_applications_1h"] == 4
    assert first["shared.ids_per_device_7d"] == 3
    assert first["shared.days_since_decline"] == 0
    assert first["shared.fraud_links_30d"] == 1
    assert "incomplete" not in after[0][3].values()
    if world.velocity.shared.kind == "redis":
        assert world.firefly.readiness().checks["velocity"] == "ok"


def test_a_rebuild_over_decisions_recorded_live_after_the_flush_counts_them_once(world):
    t0 = world.clock.now
    world.decide("DEV-REB-0001", 1, 1)
    world.clock.now = t0 + datetime.timedelta(minutes=5)
    world.decide("DEV-REB-0001", 1, 1, key="retry-me")
    world.empty()
    world.clock.now = t0 + datetime.timedelta(minutes=10)
    world.decide("DEV-REB-0001", 2, 2)                   # recorded live after the flush
    world.decide("DEV-REB-0001", 2, 2, key="late-one")   # and one with an Idempotency-Key
    world.clock.now = t0 + datetime.timedelta(minutes=15)
    world.rebuild()
    world.rebuild()                                      # twice: the same as once
    over = world.read(["DEV-REB-0001"], [1, 2])
    # 4 stored applications and the probe: not 6, 7 or 9
    assert over[0][2]["shared.device_applications_1h"] == 5
    assert over[0][2]["shared.id_applications_7d"] == 3  # ID 1: two stored and the probe
    world.empty()
    world.probes = 0
    world.rebuild()
    assert world.read(["DEV-REB-0001"], [1, 2]) == over  # as a rebuild from nothing at all


def test_a_retry_of_an_attempt_that_was_not_stored_still_counts_once(world):
    """An attempt counted and then not stored (a 503), retried with the same Idempotency-Key: the
    event is the scoped key both times, and the row keeps it for a rebuild."""
    attempt = world.policy.parse_input(world.body("DEV-REB-0003", 1, 1))
    world.velocity.lookup(world.policy, attempt, "test-channel:same", world.clock.now)  # as deciding would
    world.clock.now += datetime.timedelta(seconds=5)
    retried = world.decide("DEV-REB-0003", 1, 1, key="same")
    trace = {e["name"]: e["value"] for e in retried["trace"]["shared"]}
    assert trace["shared.device_applications_1h"] == 1
    world.clock.now += datetime.timedelta(minutes=1)
    world.empty()
    world.rebuild()
    assert world.read(["DEV-REB-0003"], [1])[0][2]["shared.device_applications_1h"] == 2


def test_a_compliance_key_is_refused_and_an_admin_rebuild_is_recorded_first(world):
    with pytest.raises(Forbidden):
        world.firefly.rebuilding.rebuild(Principal("auditor", "compliance"), "because")
    with pytest.raises(InvalidInput):
        world.firefly.rebuilding.rebuild(ADMIN, "  ")
    assert world.firefly.access_audit.search(AuditSearch(action="velocity.rebuild"))[0] == []
    world.rebuild()
    events, _ = world.firefly.access_audit.search(AuditSearch(action="velocity.rebuild"))
    assert [(e["actor"], e["details"]["reason"]) for e in events] == [
        ("ops-admin", "Redis restarted without its AOF")]


def test_decisions_older_than_the_retention_or_before_since_are_not_replayed(world):
    t0 = world.clock.now
    world.decide("DEV-REB-0004", 1, 1)
    world.clock.now = t0 + datetime.timedelta(days=367)
    world.decide("DEV-REB-0004", 2, 2)
    world.clock.now = t0 + datetime.timedelta(days=368)
    world.decide("DEV-REB-0004", 3, 3)
    world.empty()
    done = world.rebuild()
    assert done.decisions == 2
    assert done.since == t0 + datetime.timedelta(days=367)  # the earliest within 366 days
    world.empty()
    done = world.rebuild(since=t0 + datetime.timedelta(days=367, hours=12))
    assert done.decisions == 1 and done.whole_since == t0 + datetime.timedelta(days=367, hours=12)


def test_a_memory_emptied_again_while_it_is_rebuilt_is_not_marked_whole(world):
    if world.velocity.shared.kind != "redis":
        pytest.skip("a process's memory is emptied only by its restart, which ends the rebuild too")
    for n in range(3):
        world.clock.now += datetime.timedelta(minutes=1)
        world.decide(f"DEV-REB-01{n:02d}", n, n)
    world.empty()
    world.firefly.rebuilding.page = 1
    client = world.velocity.shared.client
    done = world.firefly.rebuilding.rebuild(ADMIN, "flushed", progress=lambda *_: forget(client))
    assert done.emptied_meanwhile and done.whole_since is None
    assert client.get(MEMORY_SINCE) is None  # not marked: the next write says when it began
    world.clock.now += datetime.timedelta(minutes=1)
    assert world.read(["DEV-REB-0100"], [0])[0][3]["shared.device_applications_24h"] == "incomplete"


# half the gaps within the hour (bursts: declines that mark IDs and link devices and phones),
# half from an hour to 40 days (windows, cooling-off and retention at their edges)
gaps = st.one_of(st.sampled_from(GAPS[:3]), st.sampled_from(GAPS[3:]))
steps = st.lists(st.tuples(gaps, st.integers(0, 1), st.integers(0, 3), st.integers(0, 3), st.booleans()),
                 min_size=3, max_size=12)


@pytest.mark.parametrize("rotated", [False, True], ids=["one key", "after a rotation"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=steps, twice=st.booleans())
def test_every_shared_value_after_a_rebuild_is_what_it_was_before_redis_was_emptied(
        make_firefly, clock, rotated, stream, twice):
    """Drawn streams of applications (a few devices, IDs and phones, gaps from none to months,
    some with an Idempotency-Key): every value every device and ID would read next is the same
    after an emptied memory is rebuilt as before (once or twice), with one key or while an old
    key is still written and read after a rotation."""
    overrides = {"FIREFLY_HMAC_KEY": NEW, "FIREFLY_HMAC_OLD_KEYS": OLD} if rotated else {}
    world = make_firefly(**overrides)
    world.examples += 1  # its own devices, IDs and phones, after the example before (time goes on)
    clock.now += datetime.timedelta(days=1)
    tag = world.examples
    devices = [f"DEV-P{tag}-{n}" for n in range(3)]
    outcomes = []
    for number, (gap, device, person, phone, keyed) in enumerate(stream):
        clock.now += datetime.timedelta(seconds=gap)
        outcomes.append(world.decide(devices[device], person, phone,
                                     key=f"k-{tag}-{number}" if keyed else None)["outcome"])
    clock.now += datetime.timedelta(seconds=30)
    before = world.read(devices, range(4))
    event(f"declines: {min(outcomes.count('DECLINE'), 2)}")
    event(f"a fraud link read: {any(values.get('shared.fraud_links_30d') for *_, values, _ in before)}")
    world.empty()
    world.probes = 0
    world.rebuild()
    if twice:
        world.rebuild()
    assert world.read(devices, range(4)) == before


def test_once_the_current_key_is_older_than_the_retention_only_it_is_written(make_firefly, clock):
    """Facts lost while the key in use is mature (Redis down for a while, not emptied): the
    live path reads the current key alone, so the rebuild writes it alone (no old-key sets for a
    year), and every value reads as before."""
    world = make_firefly(FIREFLY_HMAC_KEY=NEW, FIREFLY_HMAC_OLD_KEYS=OLD)
    personal = world.firefly.personal
    shared = world.velocity.shared
    mature = clock.now - datetime.timedelta(days=400)
    shared.first_used(personal.key_id, mature.timestamp())
    for n in range(3):
        clock.now += datetime.timedelta(minutes=7)
        world.decide("DEV-REB-0200", n, n)
    clock.now += datetime.timedelta(minutes=1)
    before = world.read(["DEV-REB-0200"], [0, 2])
    world.empty()
    world.velocity.shared.first_used(personal.key_id, mature.timestamp())  # kept: not emptied
    world.probes = 0
    world.rebuild()
    assert world.read(["DEV-REB-0200"], [0, 2]) == before
    old_hash, new_hash = (hasher("DEV-REB-0200")[:32] for _, hasher in personal.hashers()[::-1])
    device_sets = world.velocity.shared.recent([([f"ev:applications:device.device_id:{old_hash}"], 0),
                                                ([f"ev:applications:device.device_id:{new_hash}"], 0)])
    assert device_sets[0] == {} and len(device_sets[1]) == 3 + 2  # the decisions and the probes


def test_a_worker_still_on_the_old_key_reads_the_rebuilt_memory_too(make_firefly, clock):
    """While the current key is young (or the store forgot since when: a flush), a worker started
    before the rotation still reads and writes the old key alone: the rebuild writes every fact
    under every configured key, so its counts are whole too."""
    world = make_firefly(FIREFLY_HMAC_KEY=NEW, FIREFLY_HMAC_OLD_KEYS=OLD)
    for n in range(2):
        clock.now += datetime.timedelta(minutes=7)
        world.decide("DEV-REB-0300", n, n)
    world.empty()
    world.rebuild()
    old_worker = Velocity(world.velocity.shared, world.velocity.lists, PersonalData(OLD))
    clock.now += datetime.timedelta(minutes=1)
    found = old_worker.lookup(world.policy, world.policy.parse_input(world.body("DEV-REB-0300", 5, 5)),
                              "old-worker-1", clock.now)
    assert found.values["shared.device_applications_1h"] == 3
    assert found.values["shared.ids_per_device_7d"] == 3


def test_a_decision_that_cannot_be_replayed_leaves_the_memory_whole_only_after_it(world):
    """A declined applicant's personal data purged (`flask audit purge`) before a year is over:
    its last-seen mark cannot be rebuilt. The rebuild says so, and the memory counts as whole only
    from just after it: a value whose window reaches back over it stays missing (`incomplete`)."""
    t0 = world.clock.now
    for n in range(3):  # the third from the device within the hour: declined (a burst)
        world.clock.now = t0 + datetime.timedelta(minutes=10 * n)
        world.decide("DEV-REB-0400", n, n)
    world.clock.now = t0 + datetime.timedelta(days=40)
    assert world.firefly.audit_log.purge_personal_data(35) == 3
    world.decide("DEV-REB-0401", 9, 9)
    world.empty()
    done = world.rebuild()
    # the two approvals 40 days ago left nothing still kept (31 days): only the decline's mark
    assert done.decisions == 4 and dict(done.skipped) == {"personal data purged": 1}
    assert done.whole_since == t0 + datetime.timedelta(minutes=20, seconds=61)
    world.clock.now += datetime.timedelta(minutes=1)
    found = world.read(["DEV-REB-0401"], [2])[0]
    if world.velocity.shared.kind == "redis":
        assert found[3]["shared.days_since_decline"] == "incomplete"   # 90 days: over the purged one
        assert found[3]["shared.device_applications_24h"] == "redis"   # a day: known


def test_decisions_of_one_moment_across_pages_are_each_replayed_once(world):
    """Pages follow (created_at, id): decisions made at the same moment (one clock tick) on both
    sides of a page's end are neither skipped nor read twice."""
    for n in range(5):
        world.decide(f"DEV-REB-05{n:02d}", n, 7)  # the clock does not move; one phone
    world.empty()
    world.firefly.rebuilding.page = 2
    done = world.rebuild()
    assert done.decisions == 5
    world.clock.now += datetime.timedelta(minutes=1)
    values = world.read(["DEV-REB-0500"], [7])[0][2]  # the probe's phone is its ID's number: 7
    assert values["shared.phone_applications_24h"] == 6  # every one of them, and the probe


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=steps, data=st.data())
def test_decisions_recorded_live_after_the_flush_count_once_on_drawn_streams(make_firefly, clock, stream, data):
    """Redis emptied at a drawn step; the applications after it are decided and recorded live
    (their events, and their marks); then the rebuild. What every device and ID reads next is what a
    rebuild of an empty memory from the same stored decisions gives: nothing is counted twice."""
    world = make_firefly()
    world.examples += 1
    clock.now += datetime.timedelta(days=1)
    tag = world.examples
    devices = [f"DEV-Q{tag}-{n}" for n in range(3)]
    flushed = data.draw(st.integers(0, len(stream)), label="emptied before step")
    for number, (gap, device, person, phone, keyed) in enumerate(stream):
        if number == flushed:
            world.empty()
        clock.now += datetime.timedelta(seconds=gap)
        world.decide(devices[device], person, phone, key=f"q-{tag}-{number}" if keyed else None)
    clock.now += datetime.timedelta(seconds=30)
    world.rebuild()
    over = world.read(devices, range(4))
    world.empty()
    world.probes -= len(over)
    world.rebuild()
    assert world.read(devices, range(4)) == over


def test_marks_lost_in_an_outage_are_written_again_by_a_rebuild_since_its_start(world):
    """Redis down just after a decline was stored, and the database refusing to note the marks
    owed too: its marks (the ID's decline, the links) are lost and logged (`shared_marks_lost`),
    and the applicant could apply again at once with no cooling-off. `flask velocity rebuild --since <the outage's start>` writes them again, and a
    memory that was whole before stays whole from as early as it was."""
    t0 = world.clock.now
    for n in range(3):  # the third from the device in the hour: declined, a fraud reason
        world.clock.now = t0 + datetime.timedelta(minutes=n)
        declined = world.decide("DEV-REB-0009", n, n)
    assert declined["outcome"] == "DECLINE"
    world.clock.now = t0 + datetime.timedelta(minutes=5)
    before = world.read(["DEV-REB-0010"], [2])
    assert before[0][2]["shared.days_since_decline"] == 0
    # the marks the outage lost: the decline's keys, as if never written (the counts stayed)
    assert drop_marks(world.velocity.shared) > 0
    forgot = world.read(["DEV-REB-0010"], [2])
    assert forgot[0][2]["shared.days_since_decline"] is None  # no cooling-off: the hole
    world.rebuild(since=t0 - datetime.timedelta(minutes=1))
    again = world.read(["DEV-REB-0010"], [2])
    assert again[0][2]["shared.days_since_decline"] == 0
    assert again[0][2]["shared.fraud_links_30d"] == 1
    assert "incomplete" not in again[0][3].values()


def test_a_row_altered_in_the_database_is_not_replayed_and_the_memory_is_not_marked_whole(
        world, database_url, monkeypatch):
    """A declined applicant's stored decision changed to an APPROVE in the database (someone with
    direct access, the append-only trigger switched off): replayed as it reads, the rebuild would
    drop the cooling-off and mark the memory whole. The row's MAC does not verify (`records.intact`,
    as `flask audit verify` checks it): not replayed, named, and the memory is not marked whole, so
    values reaching back over it stay missing (`incomplete`: the policy REFERs) instead of
    reading "never declined"."""
    t0 = world.clock.now
    for n in range(3):  # the third from the device in the hour: declined (a burst)
        world.clock.now = t0 + datetime.timedelta(minutes=n)
        declined = world.decide("DEV-REB-0600", n, n)
    assert declined["outcome"] == "DECLINE"
    world.clock.now = t0 + datetime.timedelta(minutes=5)
    world.empty()
    tamper(database_url, ("UPDATE decisions SET outcome = 'APPROVE' WHERE id = :i",
                          {"i": declined["decision_id"]}))
    reread = []  # rows read again whole: only one whose page text does not verify
    by_id = velocity_rebuild.decisions.by_id
    monkeypatch.setattr(velocity_rebuild.decisions, "by_id",
                        lambda session, i: reread.append(i) or by_id(session, i))
    done = world.rebuild()
    assert done.altered == [declined["decision_id"]]
    assert (done.decisions, dict(done.skipped)) == (3, {"row MAC does not verify": 1})
    assert done.whole_since is None and not done.emptied_meanwhile
    assert reread == [declined["decision_id"]]  # the intact rows were checked from the page alone
    world.clock.now += datetime.timedelta(minutes=1)
    found = world.read(["DEV-REB-0601"], [2])[0]
    assert found[2]["shared.days_since_decline"] is None  # the altered row marked nothing
    if world.velocity.shared.kind == "redis":
        assert found[3]["shared.days_since_decline"] == "incomplete"
        assert world.firefly.readiness().checks["velocity"].startswith("incomplete")


def drop_marks(shared) -> int:
    """Delete every last-seen mark and fraud link of the store (`out:` and `fraud:` keys): what
    marks lost in an outage leave. Returns how many keys went."""
    if shared.kind == "redis":
        keys = [*shared.client.scan_iter(PREFIX + "out:*"), *shared.client.scan_iter(PREFIX + "fraud:*")]
        return shared.client.delete(*keys) if keys else 0
    keys = [key for key in shared._sets if key.startswith(("out:", "fraud:"))]
    for key in keys:
        del shared._sets[key]
    return len(keys)


def test_decisions_of_a_policy_version_altered_in_the_database_are_not_replayed_and_not_marked_whole(
        world, database_url):
    """The rows are intact but their policy version's stored files were edited (they no longer hash
    to the version's name: never used, app/services/integrity.py). Its decisions are not replayed,
    named, and the memory is not marked whole, as for an altered row; the rebuild goes on over the
    other decisions instead of stopping at the first."""
    for n in range(2):
        world.clock.now += datetime.timedelta(minutes=1)
        world.decide(f"DEV-REB-07{n:02d}", n, n)
    world.empty()
    served = world.policy.hash
    tamper(database_url, ("UPDATE policy_versions SET version = version || '-edited' WHERE hash = :h",
                          {"h": served}))
    done = world.rebuild()
    assert (done.decisions, dict(done.skipped)) == (2, {"policy version altered": 2})
    assert len(done.altered) == 2 and done.whole_since is None


UNDERWRITER = Principal("test-underwriter", "underwriter")


def test_a_decline_on_review_is_remembered_after_an_emptied_redis_from_the_reviews_moment(world):
    """A referral an underwriter closed with a DECLINE (a fraud reason) marks the applicant's
    cooling-off and the application's links at the review's moment (app/services/reviews.py); the
    rebuild writes those marks again from the stored decision and its review."""
    t0, referred, _ = declined_on_review(world, "DEV-REB-REVIEW-1")
    world.clock.now = t0 + datetime.timedelta(days=3)
    before = world.read(["DEV-REB-REVIEW-1", "DEV-REB-REVIEW-2"], [1, 2])
    values = {(device, person): found for device, person, found, _ in before}
    assert values[("DEV-REB-REVIEW-2", 1)]["shared.days_since_decline"] == 1  # since the review, not the referral
    assert values[("DEV-REB-REVIEW-1", 2)]["shared.fraud_links_30d"] == 1
    assert values[("DEV-REB-REVIEW-2", 2)]["shared.days_since_decline"] is None
    world.empty()
    world.probes = 0
    done = world.rebuild()
    assert sum(done.skipped.values()) == 0 and done.whole_since is not None
    assert world.read(["DEV-REB-REVIEW-1", "DEV-REB-REVIEW-2"], [1, 2]) == before


# An underwriter's call finds the applicant is not who the application says: a fraud reason.
IMPOSTOR = Review("DECLINE", None, ("IDENTITY_NOT_VERIFIED",), "not the applicant on the phone")


def declined_on_review(world, device: str) -> tuple[datetime.datetime, dict, dict]:
    """(when it was made, the answer, the review) of a referral made now for person 1 on `device`
    and declined on review for a fraud reason two days later; the clock is left at the review."""
    t0 = world.clock.now
    referred = refer(world, device, 1)
    world.clock.now = t0 + datetime.timedelta(days=2)
    return t0, referred, world.firefly.reviews.close_referral(referred["decision_id"], IMPOSTOR, UNDERWRITER)


def refer(world, device: str, person: int) -> dict:
    """An application referred for its new mobile number, decided now."""
    body = world.body(device, person, person)
    body["applicant"]["mobile_in_service_months"] = 3
    request = DecisionRequest("zhishandai.application", body, CHANNEL, f"req-refer-{device}", trace="full")
    referred = world.firefly.deciding.decide(request).answer
    assert referred["outcome"] == "REFER", referred["reasons"]
    return referred


def test_a_decline_on_review_of_a_decision_made_before_since_is_remembered_after_a_rebuild_since(world):
    """A referral made before `--since` and declined on review after it (a fraud reason): the
    decision is not among those read, but its review is, so the cooling-off from the review's
    moment and the application's fraud links are back after Redis is emptied and rebuilt from
    between the two (before, they were silently lost: an operator rebuilds from the day Redis
    was lost)."""
    t0, referred, _ = declined_on_review(world, "DEV-REB-EARLIER-1")
    world.clock.now = t0 + datetime.timedelta(days=3)
    probes = (["DEV-REB-EARLIER-1", "DEV-REB-EARLIER-2"], [1, 2])
    before = {(device, person): values for device, person, values, _ in world.read(*probes)}
    assert before[("DEV-REB-EARLIER-2", 1)]["shared.days_since_decline"] == 1
    assert before[("DEV-REB-EARLIER-1", 2)]["shared.fraud_links_30d"] == 1
    assert before[("DEV-REB-EARLIER-1", 2)]["shared.days_since_fraud_link"] == 1
    world.empty()
    since = t0 + datetime.timedelta(days=1)
    done = world.rebuild(since=since)
    assert (done.decisions, done.reviews, done.reviews_written, done.reviews_altered) == (0, 1, 1, [])
    assert not done.reviews_skipped and done.facts > 0 and done.whole_since == since
    after = {(device, person): (values, sources) for device, person, values, sources in world.read(*probes)}
    values, sources = after[("DEV-REB-EARLIER-2", 1)]  # the declined ID on another device
    assert values["shared.days_since_decline"] == 1  # from the review, not the referral
    assert sources["shared.days_since_decline"] != "incomplete"
    values, sources = after[("DEV-REB-EARLIER-1", 2)]  # another ID on the declined application's device
    assert values["shared.days_since_fraud_link"] == 1  # linked to the review's fraud DECLINE
    assert sources["shared.days_since_fraud_link"] != "incomplete"
    # the link's count over 30 days reaches back over the referral, before the memory is whole
    # from (on Redis: missing, `incomplete`); a process's store holds it
    if world.velocity.shared.kind != "redis":
        assert values["shared.fraud_links_30d"] == 1
    assert after[("DEV-REB-EARLIER-2", 2)][0]["shared.days_since_decline"] is None  # nothing else marked
    again = world.rebuild(since=since)  # twice: the same as once
    assert (again.reviews, again.reviews_written) == (1, 1)
    assert world.read(["DEV-REB-EARLIER-2"], [1])[0][2]["shared.days_since_decline"] == 1


def test_an_approval_on_review_of_a_decision_made_before_since_writes_nothing(world):
    t0 = world.clock.now
    referred = refer(world, "DEV-REB-EARLIER-3", 1)
    world.clock.now = t0 + datetime.timedelta(days=2)
    world.firefly.reviews.close_referral(referred["decision_id"], Review(
        "APPROVE", 10_000, ("MANUAL_INCOME_VERIFIED",), "payslips checked"), UNDERWRITER)
    world.clock.now = t0 + datetime.timedelta(days=3)
    world.empty()
    done = world.rebuild(since=t0 + datetime.timedelta(days=1))
    assert (done.decisions, done.reviews, done.reviews_written, done.facts) == (0, 1, 0, 0)
    assert not done.reviews_skipped and not done.reviews_altered and done.whole_since is not None
    assert world.read(["DEV-REB-EARLIER-4"], [1])[0][2]["shared.days_since_decline"] is None


@pytest.mark.parametrize("edit", [{"comment": "edited"}, {"outcome": "APPROVE", "limit": 10_000}],
                         ids=["its comment", "made an approval"])
def test_an_altered_review_of_a_decision_made_before_since_writes_nothing_and_is_reported(
        world, database_url, edit):
    """A DECLINE on review edited in the database (whatever it now says: made an APPROVE, it would
    drop the cooling-off): it marks nothing, is named, and the memory is not marked whole, as for an
    altered decision row."""
    import json

    t0, referred, note = declined_on_review(world, "DEV-REB-EARLIER-5")
    world.clock.now = t0 + datetime.timedelta(days=3)
    body = {"outcome": "DECLINE", "limit": None, "reason_codes": list(IMPOSTOR.reason_codes),
            "comment": IMPOSTOR.comment, **edit}
    tamper(database_url, ("UPDATE decision_reviews SET body = :b WHERE id = :i",
                          {"b": json.dumps(body), "i": note["id"]}))
    world.empty()
    done = world.rebuild(since=t0 + datetime.timedelta(days=1))
    assert (done.reviews, done.reviews_written, done.facts, done.reviews_altered) == (1, 0, 0, [note["id"]])
    assert done.whole_since is None and not done.altered
    found = world.read(["DEV-REB-EARLIER-6"], [1])[0]
    assert found[2]["shared.days_since_decline"] is None  # the altered review marked nothing
    if world.velocity.shared.kind == "redis":
        assert found[3]["shared.days_since_decline"] == "incomplete"


def test_a_decline_on_review_of_an_altered_decision_made_before_since_is_not_written(world, database_url):
    """The review is intact but the decision it closed was altered in the database: as for an
    altered row read, nothing is written, the decision is named, the memory not marked whole."""
    t0, referred, _ = declined_on_review(world, "DEV-REB-EARLIER-7")
    world.clock.now = t0 + datetime.timedelta(days=3)
    tamper(database_url, ("UPDATE decisions SET customer_group = 'PREMIUM' WHERE id = :i",
                          {"i": referred["decision_id"]}))
    world.empty()
    done = world.rebuild(since=t0 + datetime.timedelta(days=1))
    assert (done.reviews, done.reviews_written, done.facts) == (1, 0, 0)
    assert dict(done.reviews_skipped) == {"row MAC does not verify": 1}
    assert done.altered == [referred["decision_id"]] and done.whole_since is None


def test_an_altered_review_of_a_decision_read_is_reported_and_the_memory_not_marked_whole(world, database_url):
    """A referral made since T0 whose DECLINE on review was made an APPROVE in the database:
    replayed as it reads, the cooling-off from the review would be dropped silently. The review's
    MAC is checked whatever it now says: the decision's own facts are written, the review marks
    nothing and is named, and the memory is not marked whole."""
    import json

    t0, referred, note = declined_on_review(world, "DEV-REB-READ-1")
    body = {"outcome": "APPROVE", "limit": 10_000, "reason_codes": ["MANUAL"], "comment": "fine"}
    tamper(database_url, ("UPDATE decision_reviews SET body = :b WHERE id = :i",
                          {"b": json.dumps(body), "i": note["id"]}))
    world.clock.now = t0 + datetime.timedelta(days=3)
    world.empty()
    done = world.rebuild()
    assert (done.decisions, sum(done.skipped.values()), done.reviews) == (1, 0, 0)
    assert done.reviews_altered == [note["id"]] and not done.altered and done.whole_since is None
    assert done.facts > 0  # the referral's own events
    assert world.read(["DEV-REB-READ-2"], [1])[0][2]["shared.days_since_decline"] is None


def test_the_reviews_of_earlier_referrals_are_read_a_page_at_a_time_each_once(world):
    """Reviews of referrals made before `--since` are paged as the decisions are (by the reviews
    log's sequence): with pages of one, every one is read once, none skipped."""
    t0 = world.clock.now
    referred = [refer(world, f"DEV-REB-PAGED-{n}", n) for n in range(3)]
    world.clock.now = t0 + datetime.timedelta(days=2)
    for n, answer in enumerate(referred):
        outcome = ("APPROVE", 10_000, ("MANUAL_INCOME_VERIFIED",)) if n == 1 else ("DECLINE", None, ("IDENTITY_NOT_VERIFIED",))
        world.firefly.reviews.close_referral(answer["decision_id"], Review(*outcome, "checked by phone"), UNDERWRITER)
    world.clock.now = t0 + datetime.timedelta(days=3)
    world.empty()
    world.firefly.rebuilding.page = 1
    done = world.rebuild(since=t0 + datetime.timedelta(days=1))
    assert (done.decisions, done.reviews, done.reviews_written) == (0, 3, 2)
    found = {person: values["shared.days_since_decline"]
             for _, person, values, _ in world.read(["DEV-REB-PAGED-9"], [0, 1, 2])}
    assert found == {0: 1, 1: None, 2: 1}
