"""Days since the latest mark (a DECLINE, a fraud link) after the anti-fraud store was emptied
(app/services/velocity.py): once the store holds a mark, the value is exact, whatever the window
reaches back to; only "no mark in the window" is unknown while the memory is younger than it.

The failure this holds off: Redis emptied; 35 days later an applicant is declined; five days after
that they apply again. The store's memory (40 days) is younger than the 90-day window of
`days_since_decline`, so the value was missing (`incomplete`), which the reference policy reads
as no decline (`coalesce(..., 9999)`), while every value its RQ-VELOCITY requires (windows of 30
days and less) was known: the applicant was approved within their 30-day cooling-off."""
import datetime

import pytest
import redis

from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.state.shared import PREFIX
from support.applicants import as_of, examples

CHANNEL = Principal("test-channel", "channel")


@pytest.fixture
def emptied_later(firefly, redis_url):
    """Empties the store's keys (as a restart without persistence leaves it): Redis only, the
    store whose memory is tracked."""
    if redis_url is None:
        pytest.skip("REDIS_URL not set: an emptied Redis is tested in the PostgreSQL + Redis suite")
    client = redis.Redis.from_url(redis_url)

    def empty():
        keys = list(client.scan_iter(PREFIX + "*", count=1000))
        if keys:
            client.delete(*keys)
    yield empty
    client.close()


def test_a_decline_after_the_store_was_emptied_is_seen_by_the_cooling_off(firefly, clock, emptied_later):
    n = iter(range(100))

    def decide(device, **bank):
        body = as_of(examples("approve_salaried")["approve_salaried"], clock.now.date())
        body["device"]["device_id"] = device
        body["bank"].update(bank)
        answer = firefly.deciding.decide(DecisionRequest(
            "zhishandai.application", body, CHANNEL, f"req-{next(n)}", trace="full")).answer
        return answer, {e["name"]: e for e in answer["trace"]["shared"]}

    first, _ = decide("DEV-EMPTY-A")
    assert first["outcome"] == "APPROVE"
    emptied_later()
    clock.now += datetime.timedelta(days=1)
    decide("DEV-EMPTY-B")  # the store's memory begins again here
    clock.now += datetime.timedelta(days=34)
    declined, _ = decide("DEV-EMPTY-C", internal_overdue_times_12m=5)
    assert declined["outcome"] == "DECLINE"
    assert "INTERNAL_OVERDUE" in [r["code"] for r in declined["reasons"]]
    clock.now += datetime.timedelta(days=5)
    again, shared = decide("DEV-EMPTY-D")
    assert (shared["shared.days_since_decline"]["value"], shared["shared.days_since_decline"]["source"]) == (5, "redis")
    assert again["outcome"] == "DECLINE"
    assert "COOLING_OFF" in [r["code"] for r in again["reasons"]]
    # an ID the store holds no decline for is still unknown over a window older than the memory
    clock.now += datetime.timedelta(minutes=1)
    body = as_of(examples("approve_salaried")["approve_salaried"], clock.now.date())
    body["applicant"]["id_number"] = examples("approve_new_citizen")["approve_new_citizen"]["applicant"]["id_number"]
    other = firefly.deciding.velocity.lookup(
        firefly.registry.current().policies["zhishandai.application"],
        firefly.registry.current().policies["zhishandai.application"].parse_input(body), "event-x", clock.now)
    assert (other.values["shared.days_since_decline"], other.sources["shared.days_since_decline"]) == (
        None, "incomplete")
