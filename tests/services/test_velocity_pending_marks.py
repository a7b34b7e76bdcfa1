"""A stored decision's marks that the shared store could not take (Redis down between the
look-up and the marks, app/services/velocity.py `remember`) are kept by the worker and written at
its next look-up that reaches the store, before that look-up reads: the declined applicant
applying again is seen by the cooling-off. Before, they were lost (logged): the applicant could
apply again at once, unseen, until someone rebuilt the memory."""
import datetime

from app.services import velocity as velocity_module
from app.services.access import Principal
from app.services.deciding import DecisionRequest
from support.applicants import as_of, examples

CHANNEL = Principal("test-channel", "channel")


class MarksRefused:
    """The real store, but its plain `record` (what the marks after a decision use) answers as a
    store that is down: what a Redis restart between the look-up and the marks does."""

    def __init__(self, inner):
        self.inner = inner

    def record(self, now, entries):
        return None

    def __getattr__(self, name):
        return getattr(self.inner, name)


def decide(firefly, clock, n, device, **bank):
    body = as_of(examples("approve_salaried")["approve_salaried"], clock.now.date())
    body["device"]["device_id"] = device
    body["bank"].update(bank)
    return firefly.deciding.decide(DecisionRequest(
        "zhishandai.application", body, CHANNEL, f"req-{n}", trace="full")).answer


def test_a_declines_marks_missed_by_the_store_are_written_before_the_next_look_up_reads(
        firefly, clock, caplog):
    velocity = firefly.deciding.velocity
    store = velocity.shared
    velocity.shared = MarksRefused(store)
    declined = decide(firefly, clock, 1, "DEV-PEND-0001", internal_overdue_times_12m=5)
    assert declined["outcome"] == "DECLINE"
    assert any(getattr(r, "event", None) == "shared_marks_pending" for r in caplog.records)
    velocity.shared = store  # back
    clock.now += datetime.timedelta(hours=1)
    again = decide(firefly, clock, 2, "DEV-PEND-0002")  # the same applicant, another device
    shared = {e["name"]: e["value"] for e in again["trace"]["shared"]}
    assert shared["shared.days_since_decline"] == 0
    assert again["outcome"] == "DECLINE" and "COOLING_OFF" in [r["code"] for r in again["reasons"]]
    assert not velocity._pending


def test_marks_kept_are_put_back_if_the_store_fails_again_and_bounded(firefly, clock, monkeypatch):
    velocity = firefly.deciding.velocity
    store = velocity.shared
    velocity.shared = MarksRefused(store)
    decide(firefly, clock, 1, "DEV-PEND-0003", internal_overdue_times_12m=5)
    kept = list(velocity._pending)
    assert kept
    velocity._write_pending(clock.now.timestamp())  # the store still refuses plain records, but
    assert list(velocity._pending) == []            # a replay goes through: written, none kept

    class Down(MarksRefused):
        def replay(self, now, facts):
            return None
    velocity.shared = Down(store)
    velocity._keep_pending(kept)
    velocity._write_pending(clock.now.timestamp())
    assert list(velocity._pending) == kept  # put back, in order
    monkeypatch.setattr(velocity_module, "MAX_PENDING_MARKS", len(kept) + 1)
    velocity._keep_pending([(clock.now.timestamp(), kept[0][1])] * 3)
    assert len(velocity._pending) == len(kept) + 1  # the oldest went
    assert velocity._pending[-1][0] == clock.now.timestamp()


def test_a_stopping_worker_writes_its_marks_or_says_from_when_to_rebuild(firefly, clock, caplog):
    velocity = firefly.deciding.velocity
    store = velocity.shared
    velocity.shared = MarksRefused(store)
    decide(firefly, clock, 1, "DEV-PEND-0005", internal_overdue_times_12m=5)
    declined_at = clock.now

    class Down(MarksRefused):
        def replay(self, now, facts):
            return None
    velocity.shared = Down(store)
    velocity.flush_pending(clock.now.timestamp())
    [lost] = [r for r in caplog.records if getattr(r, "event", None) == "shared_marks_lost"]
    assert lost.since == declined_at.isoformat(timespec="seconds")
    assert f"--since {declined_at.date().isoformat()}" in lost.getMessage()
    caplog.clear()
    velocity.shared = store  # back before the worker stops: written, nothing lost
    velocity.flush_pending(clock.now.timestamp())
    assert not velocity._pending
    assert not [r for r in caplog.records if getattr(r, "event", None) == "shared_marks_lost"]
    again = decide(firefly, clock, 2, "DEV-PEND-0006")
    shared = {e["name"]: e["value"] for e in again["trace"]["shared"]}
    assert shared["shared.days_since_decline"] == 0
