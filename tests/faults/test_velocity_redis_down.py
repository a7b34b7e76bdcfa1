"""Redis stopped mid-run (the suite's own redis-server on a free port, never the shared one): the
anti-fraud counters are unavailable, and the reference policy says what that means — REFER
VELOCITY_UNAVAILABLE, never a 500 and never a silent approval; /readyz reports it; once Redis is
back, decisions count again without a restart."""
import os
import signal

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import services
from support.applicants import as_of, examples
from support.keys import KEYS
from support.server import Gunicorn, wait_for
from support.settings import make_config
from app.services.clock import business_date, utc_now

URL = "/v1/decisions/zhishandai.application?trace=true"


@pytest.fixture
def app_on_own_redis(database_url, clean_state, own_redis):
    app = create_app(make_config(database_url, own_redis.url))
    yield app
    services(app).close()


def _body(n: int, mobile: str | None = None) -> dict:
    body = as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now()))
    body["device"]["device_id"] = f"DEV-DOWN-{n:04d}"
    if mobile is not None:  # a phone the tests before did not count
        body["applicant"]["mobile"] = mobile
    return body


def test_redis_down_refers_with_velocity_unavailable_and_recovers(app_on_own_redis, own_redis):
    client = app_on_own_redis.test_client()
    headers = {"X-API-Key": KEYS["channel"]}
    before = client.post(URL, json=_body(1), headers=headers)
    assert before.status_code == 201 and before.get_json()["outcome"] == "APPROVE"
    assert client.get("/readyz").get_json()["status"] == "ready"

    own_redis.stop()
    try:
        down = client.post(URL, json=_body(2), headers=headers)
        assert down.status_code == 201  # decided and stored, never a 500
        answer = down.get_json()
        assert answer["outcome"] == "REFER"
        assert [r["code"] for r in answer["reasons"]] == ["VELOCITY_UNAVAILABLE"]
        velocity = {e["name"]: e for e in answer["trace"]["shared"]}
        assert velocity["shared.device_applications_24h"] == {
            **velocity["shared.device_applications_24h"], "value": None, "source": "unavailable"}
        # the lists live in the database: still matched while Redis is down
        assert velocity["in_list.blacklist.applicant.id_number"]["source"] == "database"
        ready = client.get("/readyz")
        body = ready.get_json()
        assert ready.status_code == 200 and body["status"] == "degraded"
        assert body["checks"]["velocity"].startswith("unavailable") and "velocity" in body["degraded"]
    finally:
        own_redis.start()

    again = client.post(URL, json=_body(1), headers=headers)  # the first device, again
    assert again.status_code == 201 and again.get_json()["outcome"] == "APPROVE"
    counts = {e["name"]: e["value"] for e in again.get_json()["trace"]["shared"]}
    # a restarted Redis starts empty (no persistence here): counting resumed from this application
    assert counts["shared.device_applications_24h"] == 1
    assert client.get("/readyz").get_json()["status"] == "ready"


def test_a_full_redis_that_refuses_writes_refers_like_a_redis_down(app_on_own_redis, own_redis):
    """`maxmemory-policy noeviction` (docs/anti_fraud.md): a full Redis refuses writes instead of
    evicting the anti-fraud memory; the service treats the refusal as Redis down."""
    client = app_on_own_redis.test_client()
    headers = {"X-API-Key": KEYS["channel"]}
    phone = "13900000010"
    first = client.post(URL, json=_body(10, phone), headers=headers).get_json()
    assert first["outcome"] == "APPROVE", [r["code"] for r in first["reasons"]]
    admin = redis.Redis.from_url(own_redis.url)
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)  # below what it holds: every write is refused (OOM)
    try:
        full = client.post(URL, json=_body(11, phone), headers=headers)
        assert full.status_code == 201  # decided and stored, never a 500
        answer = full.get_json()
        assert answer["outcome"] == "REFER"
        assert [r["code"] for r in answer["reasons"]] == ["VELOCITY_UNAVAILABLE"]
        velocity = {e["name"]: e for e in answer["trace"]["shared"]}
        assert velocity["shared.device_applications_1h"]["value"] is None
        assert velocity["shared.device_applications_1h"]["source"] == "unavailable"
    finally:
        admin.config_set("maxmemory", 0)
        admin.close()
    # writes accepted again: counting goes on, and the refused application, owed in the database,
    # is written first (at its own moment) and counted once
    again = client.post(URL, json=_body(10, phone), headers=headers).get_json()
    shared = {e["name"]: e for e in again["trace"]["shared"]}
    device = shared["shared.device_applications_1h"]
    assert (device["value"], device["source"]) == (2, "redis")
    assert shared["shared.phone_applications_24h"]["value"] == 3
    refused_device = {e["name"]: e["value"] for e in client.post(
        URL, json=_body(11, phone), headers=headers).get_json()["trace"]["shared"]}
    assert refused_device["shared.device_applications_1h"] == 2


class _Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_an_emptied_redis_refers_what_its_windows_cannot_know_until_an_admin_accepts_the_loss(
        database_url, clean_state, own_redis):
    """A Redis restarted without persistence (or flushed, or evicted) answers, but has forgotten:
    counting from zero would approve a burst unseen. Values whose window reaches back before its
    memory began, over stored decisions, are missing (source `incomplete`); shorter windows are
    known; /readyz says so; an admin accepting the loss (recorded) makes the memory whole again."""
    from datetime import timedelta

    from app.services import build
    from app.services.access import Principal
    from app.services.access_audit import AuditSearch
    from app.services.deciding import DecisionRequest
    from app.services.errors import Forbidden
    from support.settings import make_settings

    clock = _Clock(utc_now())
    admin = redis.Redis.from_url(own_redis.url)
    admin.flushdb()  # this module's Redis, shared by its tests: a new store over a clean database
    firefly = build(make_settings(database_url, own_redis.url), clock=clock)
    channel = Principal("test-channel", "channel")

    def decide(n):
        body = as_of(examples("approve_salaried")["approve_salaried"], business_date(clock.now))
        body["device"]["device_id"] = "DEV-EMPTIED-0001"
        answer = firefly.deciding.decide(DecisionRequest(
            "zhishandai.application", body, channel, f"req-{n}", trace="full")).answer
        return answer, {e["name"]: e for e in answer["trace"]["shared"]}

    try:
        first, shared = decide(1)
        assert first["outcome"] == "APPROVE" and shared["shared.device_applications_24h"]["value"] == 1
        admin.flushdb()  # what a restart without persistence, a flush or an eviction leaves
        clock.now += timedelta(hours=2)
        emptied, shared = decide(2)
        # the last hour is known (the first decision is older): the last day is not
        assert (shared["shared.device_applications_1h"]["value"],
                shared["shared.device_applications_1h"]["source"]) == (1, "redis")
        assert (shared["shared.device_applications_24h"]["value"],
                shared["shared.device_applications_24h"]["source"]) == (None, "incomplete")
        assert shared["shared.fraud_links_30d"]["source"] == "incomplete"
        assert emptied["outcome"] == "REFER"
        assert [r["code"] for r in emptied["reasons"]] == ["VELOCITY_UNAVAILABLE"]
        ready = firefly.readiness()
        assert ready.status == "degraded" and ready.checks["velocity"].startswith("incomplete")

        with pytest.raises(Forbidden):
            firefly.deciding.velocity.accept_loss(Principal("ops", "compliance"), "restarted")
        firefly.deciding.velocity.accept_loss(Principal("ops-admin", "admin"),
                                              "Redis restarted without its AOF on 2026-11-29")
        events, _ = firefly.access_audit.search(AuditSearch(action="velocity.accept_loss"))
        assert [(e["actor"], e["details"]["reason"]) for e in events] == [
            ("ops-admin", "Redis restarted without its AOF on 2026-11-29")]
        clock.now += timedelta(minutes=1)
        after, shared = decide(3)
        # counting goes on from what Redis holds: the decision after the flush and this one
        assert (shared["shared.device_applications_24h"]["value"],
                shared["shared.device_applications_24h"]["source"]) == (2, "redis")
        assert "VELOCITY_UNAVAILABLE" not in [r["code"] for r in after["reasons"]]
        assert firefly.readiness().checks["velocity"] == "ok"
    finally:
        firefly.close()
        admin.close()


def _owed(database_url) -> list[str]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = list(conn.execute(text("SELECT decision_id FROM velocity_owed_marks")).scalars())
    engine.dispose()
    return found


def test_marks_owed_by_workers_killed_while_redis_was_down_are_written_by_their_successors(
        database_url, clean_state, own_redis, tmp_path):
    """The whole story under gunicorn: Redis stops, a decline is stored and its marks are owed in
    the database; every worker is killed (kill -9: no hook runs, nothing in their memory survives);
    Redis comes back (empty: no persistence here); the same applicant applying again, answered by
    a new worker, is declined for the cooling-off. (With the marks kept in a worker's memory, they
    died with it: the applicant read no decline.)"""
    client = redis.Redis.from_url(own_redis.url)  # what the tests before left there: gone
    keys = list(client.scan_iter("firefly:*"))
    if keys:
        client.delete(*keys)
    client.close()
    server = Gunicorn(tmp_path, database_url, own_redis.url).start()
    headers = {"X-API-Key": KEYS["channel"]}

    def post(body):
        answer = requests.post(server.base + URL, json=body, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()
    try:
        assert post(_body(30))["outcome"] == "APPROVE"
        own_redis.stop()
        try:
            overdue = _body(31)
            overdue["bank"]["internal_overdue_times_12m"] = 5
            declined = post(overdue)
            assert declined["outcome"] == "DECLINE"
            assert _owed(database_url) == [declined["decision_id"]]
            ready = requests.get(server.base + "/readyz", timeout=10).json()
            assert ready["status"] == "degraded" and ready["checks"]["velocity_marks"].startswith("owed: 1 ")
            killed = set(server.worker_pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            wait_for(lambda: len(set(server.worker_pids()) - killed) == 2, "gunicorn to start new workers")
        finally:
            own_redis.start()
        again = post(_body(32))  # the same applicant, another device
        shared = {e["name"]: e["value"] for e in again["trace"]["shared"]}
        assert shared["shared.days_since_decline"] == 0
        assert again["outcome"] == "DECLINE" and "COOLING_OFF" in [r["code"] for r in again["reasons"]]
        assert _owed(database_url) == []
        assert requests.get(server.base + "/readyz", timeout=10).json()["checks"]["velocity_marks"] == "ok"
    finally:
        server.stop()
