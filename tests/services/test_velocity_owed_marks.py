"""A stored decision's marks that the shared store could not take (Redis down between the look-up
and the marks, or for both; app/services/velocity.py `remember`) are owed in the database
(velocity_owed_marks, migration 0026) and written from the stored row by the next look-up of ANY
worker that reaches the store: a worker killed (kill -9, OOM) loses nothing, and the declined
applicant applying again is seen by the cooling-off. Before, they were kept in the worker's memory
and lost with it: the applicant could apply again at once, unseen, until someone rebuilt the memory,
and nothing durable said a rebuild was owed.

On the real database, and on Redis in the PostgreSQL + Redis run (the in-process store otherwise;
the store that is down is a Redis nothing listens on, or the real one refusing the marks)."""
import datetime
import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app.engine.language.resident_id import compose
from app.services import build, velocity_rebuild
from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.services.velocity import OWED_BATCH
from app.storage import owed_marks
from support.applicants import as_of, examples
from support.settings import make_settings
from support.tamper import tamper

CHANNEL = Principal("test-channel", "channel")
ADMIN = Principal("ops-admin", "admin")
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: every call is refused at once
BORN = datetime.date(1990, 5, 14)
examples_run = itertools.count(1)


class MarksRefused:
    """The real store, but its plain `record` (what the marks after a decision use) answers as a
    store that is down: what a Redis restart between the look-up and the marks does."""

    def __init__(self, inner):
        self.inner = inner

    def record(self, now, entries):
        return None

    def __getattr__(self, name):
        return getattr(self.inner, name)


def body(clock, device, person=None, contact=None, card=None, **bank):
    found = as_of(examples("approve_salaried")["approve_salaried"], clock.now.date())
    found["device"]["device_id"] = device
    if person is not None:
        found["applicant"]["id_number"] = compose("330106", BORN, person)
        found["applicant"]["mobile"] = f"138{person:08d}"
    if contact is not None:
        found["applicant"]["contact_mobile"] = contact
    found["bank"].update(bank)
    if card is not None:
        found["applicant"]["bank_card"] = card
    return found


def decide(services, clock, n, device, **kwargs):
    return services.deciding.decide(DecisionRequest(
        "zhishandai.application", body(clock, device, **kwargs), CHANNEL, f"req-{n}", trace="full")).answer


def values(answer):
    return {e["name"]: e["value"] for e in answer["trace"]["shared"]}


def owed(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = list(conn.execute(text("SELECT decision_id FROM velocity_owed_marks ORDER BY decision_id")).scalars())
    engine.dispose()
    return found


def logged(caplog, event):
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def another_worker(database_url, redis_url, clock, store):
    """Another worker process: the services built again on the same database and store (the
    in-process store is shared by handing it over, as Redis is by its URL)."""
    services = build(make_settings(database_url, redis_url), clock=clock)
    if store.kind == "in-process":
        services.deciding.velocity.shared = store
    return services


def test_marks_owed_while_redis_is_down_are_written_by_another_worker_after_the_first_is_killed(
        database_url, redis_url, clean_state, clock, caplog):
    live = build(make_settings(database_url, redis_url), clock=clock)  # worker B (its store answers)
    live.deciding.velocity.monotonic = lambda: clock.now.timestamp()  # its check interval: the test's time
    decide(live, clock, 0, "DEV-OWED-0000", person=7)  # another applicant: the store's memory began before (down, not emptied)
    clock.now += datetime.timedelta(minutes=1)
    down = build(make_settings(database_url, DEAD_REDIS), clock=clock)  # worker A: its Redis is down
    declined = decide(down, clock, 1, "DEV-OWED-0001", internal_overdue_times_12m=5)
    assert declined["outcome"] == "DECLINE"
    assert [r.decision_id for r in logged(caplog, "shared_marks_owed")] == [declined["decision_id"]]
    assert owed(database_url) == [declined["decision_id"]]
    ready = down.readiness()
    assert ready.ready and ready.status == "degraded" and "velocity_marks" in ready.degraded
    assert ready.checks["velocity_marks"].startswith(
        f"owed: 1 stored decisions' marks not written yet, the earliest decided {clock.now.isoformat()[:19]}")
    del down  # killed (kill -9, OOM): nothing flushed, nothing said on the way out

    clock.now += datetime.timedelta(hours=1)
    again = decide(live, clock, 2, "DEV-OWED-0002")  # the same applicant, another device, worker B
    shared = values(again)
    assert shared["shared.days_since_decline"] == 0
    assert again["outcome"] == "DECLINE" and "COOLING_OFF" in [r["code"] for r in again["reasons"]]
    # the decline's application, not counted while Redis was down, is written too: once
    assert shared["shared.id_applications_7d"] == 2
    assert owed(database_url) == []
    assert [r.decisions for r in logged(caplog, "shared_marks_written")] == [1]
    asker = build(make_settings(database_url, DEAD_REDIS), clock=clock)  # any worker's /readyz
    assert asker.readiness().checks["velocity_marks"] == "ok"
    asker.close()
    live.close()


def test_applications_decided_while_redis_is_down_are_counted_once_it_is_back(
        database_url, redis_url, clean_state, clock, caplog):
    """A ring sends its burst while the store is down: each application is referred
    VELOCITY_UNAVAILABLE (no decline, so no marks). Its events are owed all the same, and written
    by the next look-up that reaches the store: the ring's next application, on another worker,
    reads the burst. Before, nothing was owed for them and the next application read from 1."""
    live = build(make_settings(database_url, redis_url), clock=clock)
    live.deciding.velocity.monotonic = lambda: clock.now.timestamp()
    decide(live, clock, 0, "DEV-OTHER-0000", person=70)  # the store's memory began before the outage
    clock.now += datetime.timedelta(minutes=1)
    down = build(make_settings(database_url, DEAD_REDIS), clock=clock)
    burst = []
    for n in range(1, 4):
        clock.now += datetime.timedelta(minutes=1)
        answer = decide(down, clock, n, "DEV-RING-0001", person=70 + n)
        assert answer["outcome"] == "REFER"
        assert "VELOCITY_UNAVAILABLE" in [r["code"] for r in answer["reasons"]]
        burst.append(answer["decision_id"])
    assert owed(database_url) == sorted(burst)
    assert [r.owed for r in logged(caplog, "shared_marks_owed")] == ["events"] * 3
    down.close()

    clock.now += datetime.timedelta(minutes=10)
    after = decide(live, clock, 4, "DEV-RING-0001", person=74)
    shared = values(after)
    assert shared["shared.device_applications_24h"] == 4
    assert shared["shared.ids_per_device_7d"] == 4
    assert after["outcome"] == "DECLINE"
    assert "DEVICE_MANY_IDS" in [r["code"] for r in after["reasons"]]
    assert owed(database_url) == []
    live.close()


def test_the_worker_that_owed_marks_writes_them_at_its_next_look_up(firefly, clock, caplog):
    """Redis back within the check interval: the worker that owed the marks writes them at its
    next look-up, before it reads (the interval only bounds how soon the others look)."""
    velocity = firefly.deciding.velocity
    velocity.owed_check_seconds = 3600.0
    store = velocity.shared
    velocity.shared = MarksRefused(store)
    declined = decide(firefly, clock, 1, "DEV-OWED-0003", internal_overdue_times_12m=5)
    assert declined["outcome"] == "DECLINE" and logged(caplog, "shared_marks_owed")
    velocity.shared = store  # back
    clock.now += datetime.timedelta(minutes=5)
    again = decide(firefly, clock, 2, "DEV-OWED-0004")
    assert values(again)["shared.days_since_decline"] == 0
    assert "COOLING_OFF" in [r["code"] for r in again["reasons"]]


def test_marks_that_cannot_be_owed_either_are_logged_with_the_rebuild_to_run(firefly, clock, caplog, monkeypatch):
    velocity = firefly.deciding.velocity
    velocity.shared = MarksRefused(velocity.shared)

    def database_down(*_args, **_kwargs):
        raise OperationalError("INSERT INTO velocity_owed_marks", {}, Exception("server closed the connection"))
    monkeypatch.setattr(owed_marks, "note", database_down)
    declined = decide(firefly, clock, 1, "DEV-OWED-0005", internal_overdue_times_12m=5)
    assert declined["outcome"] == "DECLINE"  # stored: the decision stands
    [lost] = logged(caplog, "shared_marks_lost")
    assert lost.levelname == "ERROR" and lost.decision_id == declined["decision_id"]
    assert lost.since == clock.now.isoformat(timespec="seconds")
    assert f"flask velocity rebuild --since {clock.now.date().isoformat()}" in lost.getMessage()
    assert not logged(caplog, "shared_marks_owed")


def test_a_rebuild_writes_the_marks_owed_and_settles_them(firefly, clock, database_url):
    velocity = firefly.deciding.velocity
    velocity.pay_owed = None  # no worker gets to them first
    store = velocity.shared
    velocity.shared = MarksRefused(store)
    t0 = clock.now
    declined = decide(firefly, clock, 1, "DEV-OWED-0006", internal_overdue_times_12m=5)
    velocity.shared = store
    assert owed(database_url) == [declined["decision_id"]]
    clock.now += datetime.timedelta(minutes=5)
    done = firefly.rebuilding.rebuild(ADMIN, "Redis restarted", since=t0 - datetime.timedelta(minutes=1))
    assert done.owed_paid == 1
    assert owed(database_url) == []
    again = decide(firefly, clock, 2, "DEV-OWED-0007")
    assert values(again)["shared.days_since_decline"] == 0


class Gate:
    """A worker's store whose replay waits until every worker has read the owed marks and reached
    its replay: the workers write the same marks at the same time."""

    def __init__(self, inner, barrier):
        self.inner, self.barrier = inner, barrier

    def replay(self, now, facts):
        self.barrier.wait(timeout=30)
        return self.inner.replay(now, facts)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def workers(database_url, redis_url, clean_state, clock):
    """The worker that owes the marks (its marks refused, and never writing them itself) and three
    others that write them."""
    first = build(make_settings(database_url, redis_url), clock=clock)
    first.deciding.velocity.pay_owed = None
    store = first.deciding.velocity.shared
    others = [another_worker(database_url, redis_url, clock, store) for _ in range(3)]
    yield first, others
    for services in (first, *others):
        services.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(declines=st.integers(1, 4), writers=st.integers(2, 3))
def test_workers_writing_the_owed_marks_at_once_count_each_once(workers, database_url, clock, declines, writers):
    """Fraud declines (an internal blacklist) sharing a contact phone, their marks owed; two or three
    workers write them at once, each having read every owed decision before any settles: each
    decline links the phone once, whatever the workers (marks are set members: a replay is
    idempotent), and nothing stays owed."""
    first, others = workers
    run = next(examples_run)
    velocity = first.deciding.velocity
    store = velocity.shared
    contact, card = f"139{run:04d}0000", f"62220000{run:04d}0000"  # this example's own
    velocity.shared = MarksRefused(store)
    for n in range(declines):
        clock.now += datetime.timedelta(minutes=1)
        answer = decide(first, clock, n, f"DEV-OWEDX-{run}-{n}", person=100 + 10 * run + n, contact=contact,
                        card=card, internal_blacklist=True)
        assert answer["outcome"] == "DECLINE" and "INTERNAL_BLACKLIST" in [r["code"] for r in answer["reasons"]]
    velocity.shared = store
    assert len(owed(database_url)) == declines
    barrier = threading.Barrier(writers)
    settled, errors = [], []

    def write(services):
        services.deciding.velocity.shared = Gate(services.deciding.velocity.shared, barrier)
        try:
            settled.append(services.rebuilding.pay_owed(clock.now.timestamp(), OWED_BATCH))
        except Exception as error:  # noqa: BLE001 - said below
            errors.append(error)
        finally:
            services.deciding.velocity.shared = services.deciding.velocity.shared.inner

    threads = [threading.Thread(target=write, args=(services,)) for services in others[:writers]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and settled == [declines] * writers
    assert owed(database_url) == []
    clock.now += datetime.timedelta(minutes=1)
    probe = decide(first, clock, 99, f"DEV-OWEDX-{run}-probe", person=100 + 10 * run + 9, contact=contact,
                   card=card)
    assert values(probe)["shared.fraud_links_30d"] == declines
    again = decide(first, clock, 98, f"DEV-OWEDX-{run}-again", person=100 + 10 * run)  # the first declined ID
    assert values(again)["shared.days_since_decline"] == 0


def test_marks_stay_owed_while_the_store_is_still_down_and_no_row_is_read_for_them(
        firefly, clock, database_url, monkeypatch):
    """A worker looking while Redis is still down asks the store first: the owed rows are not
    read (nor their personal data unsealed) every second of an outage, and stay owed."""
    velocity = firefly.deciding.velocity
    velocity.pay_owed = None
    store = velocity.shared
    velocity.shared = MarksRefused(store)
    declined = decide(firefly, clock, 1, "DEV-OWED-0008", internal_overdue_times_12m=5)

    class Down(MarksRefused):
        def recent(self, queries):
            return None

        def replay(self, now, facts):
            return None
    velocity.shared = Down(store)

    def not_now(*_args):
        raise AssertionError("owed rows read while the store is down")
    monkeypatch.setattr(velocity_rebuild.decisions, "for_rebuild", not_now)
    assert firefly.rebuilding.pay_owed(clock.now.timestamp(), OWED_BATCH) is None
    assert owed(database_url) == [declined["decision_id"]]
    monkeypatch.undo()
    velocity.shared = store  # back: written
    assert firefly.rebuilding.pay_owed(clock.now.timestamp(), OWED_BATCH) == 1
    assert owed(database_url) == []


def test_owed_marks_of_a_row_altered_meanwhile_are_not_written_and_are_settled_loudly(
        firefly, clock, database_url, caplog):
    """The stored row is what the marks are written from: one altered in the database since (a
    DECLINE made an APPROVE) fails its MAC (as the rebuild checks it) and writes nothing; it is
    settled, logged `shared_marks_lost` with why (`flask audit verify` names the row)."""
    velocity = firefly.deciding.velocity
    velocity.pay_owed = None
    store = velocity.shared
    velocity.shared = MarksRefused(store)
    declined = decide(firefly, clock, 1, "DEV-OWED-0009", internal_overdue_times_12m=5)
    velocity.shared = store
    tamper(database_url, ("UPDATE decisions SET outcome = 'APPROVE' WHERE id = :i", {"i": declined["decision_id"]}))
    assert firefly.rebuilding.pay_owed(clock.now.timestamp(), OWED_BATCH) == 1
    assert owed(database_url) == []
    [lost] = logged(caplog, "shared_marks_lost")
    assert lost.levelname == "ERROR" and (lost.decision_id, lost.why) == (declined["decision_id"],
                                                                         "row MAC does not verify")
    assert [r.decisions for r in logged(caplog, "shared_marks_written")] == [0]


class ReplayRefused(MarksRefused):
    """The real store refusing the marks written from stored rows too (a review's DECLINE)."""

    def replay(self, now, facts):
        return None


def test_a_decline_on_review_that_the_store_refuses_is_owed_and_written_at_the_next_look_up(
        firefly, clock, database_url):
    """An underwriter's DECLINE of a referral marks the memory as an automatic one does
    (app/services/reviews.py); with the store down at that moment its marks are owed, as any
    decline's, and the applicant applying again is in the cooling-off once the store is back."""
    from app.services.reviews import Review
    velocity = firefly.deciding.velocity
    referral = body(clock, "DEV-OWED-REVIEW-1", person=21)
    referral["applicant"]["mobile_in_service_months"] = 3  # a new mobile number: referred
    referred = firefly.deciding.decide(DecisionRequest(
        "zhishandai.application", referral, CHANNEL, "req-review", trace="full")).answer
    assert referred["outcome"] == "REFER", referred["reasons"]
    store = velocity.shared
    velocity.shared = ReplayRefused(store)
    firefly.reviews.close_referral(referred["decision_id"], Review(
        "DECLINE", None, ("IDENTITY_NOT_VERIFIED",), "not the applicant on the phone"),
        Principal("test-underwriter", "underwriter"))
    assert owed(database_url) == [referred["decision_id"]]
    velocity.shared = store  # back
    clock.now += datetime.timedelta(minutes=5)
    again = decide(firefly, clock, 2, "DEV-OWED-REVIEW-2", person=21)
    assert values(again)["shared.days_since_decline"] == 0
    assert "COOLING_OFF" in [r["code"] for r in again["reasons"]]
    assert owed(database_url) == []
