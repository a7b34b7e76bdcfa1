"""Storing: a decision is committed before the answer, and a database that cannot take it means
503 and no decision."""
from sqlalchemy import create_engine, select, text

from app import create_app
from app.extensions import services
from app.storage.models import Decision
from support.http import URL
from support.settings import make_config


def test_stored_row_holds_the_decision(app, decide, bodies):
    answer = decide(bodies[0], headers={"X-Request-Id": "store-1"}).get_json()
    with services(app).database.session() as session:
        row = session.get(Decision, answer["decision_id"])
    assert (row.outcome, row.customer_group, row.policy_hash) == \
        (answer["outcome"], answer["customer_group"], answer["policy"]["hash"])
    assert row.request_id == "store-1" and row.channel == "test-channel"
    assert row.reason_codes == [r["code"] for r in answer["reasons"]]
    # unmet data requirements first, then the rules that matched (Trace.hits)
    assert row.rule_hits == [r["id"] for r in row.trace["requirements"] if r["met"] is False] + [
        r["id"] for s in row.trace["stages"] if s["kind"] == "ruleset" for r in s["rules"] if r["matched"]]
    assert row.resident_id_hash and len(row.resident_id_hash) == 64


def test_unreachable_database_is_503_and_not_ready(clean_state, auth, bodies):
    app = create_app(make_config("postgresql+psycopg://postgres@127.0.0.1:1/none", None))
    client = app.test_client()
    response = client.post(URL, json=bodies[0], headers=auth("channel"))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert client.get("/v1/decisions", headers=auth("compliance")).status_code == 503
    assert client.get("/v1/decisions", headers={"X-API-Key": "unknown-key-x"}).status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("unavailable")
    services(app).close()


def test_locked_decisions_table_is_503_and_no_decision(database_url, redis_url, clean_state, auth, bodies):
    """Another session holds the decisions table: the insert times out, the caller gets 503, and
    once the lock is gone there is no decision row, and the same Idempotency-Key works again."""
    app = create_app(make_config(database_url, redis_url, FIREFLY_DB_LOCK_TIMEOUT_MS=300))
    client = app.test_client()
    client.get("/v1/policies", headers=auth("channel"))
    firefly = services(app)
    firefly.policy_store.record(firefly.registry.served("zhishandai.application"))
    locker = create_engine(database_url, connect_args={"timeout": 5} if database_url.startswith("sqlite") else {})
    with locker.connect() as conn:
        if database_url.startswith("sqlite"):
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            conn.execute(text("BEGIN"))
            conn.execute(text("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE"))
        response = client.post(URL, json=bodies[0], headers={**auth("channel"), "Idempotency-Key": "locked"})
        conn.rollback()
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"] == "1"
    with locker.connect() as conn:
        assert conn.execute(select(Decision.id)).all() == []
    retry = client.post(URL, json=bodies[0], headers={**auth("channel"), "Idempotency-Key": "locked"})
    assert retry.status_code == 201
    locker.dispose()
    services(app).close()


def test_benchmark_floor_stores_one_row_and_is_off_by_default(database_url, redis_url, clean_state, auth, bodies):
    from app.storage.models import FloorRow
    plain = create_app(make_config(database_url, redis_url))
    assert plain.test_client().post("/bench/floor/zhishandai.application", json=bodies[0],
                                    headers=auth("channel")).status_code == 404
    app = create_app(make_config(database_url, redis_url, FIREFLY_FLOOR_ENDPOINT=True, FIREFLY_FLOOR_PAD_BYTES=500))
    response = app.test_client().post("/bench/floor/zhishandai.application", json=bodies[0], headers=auth("channel"))
    assert response.status_code == 201
    with services(app).database.session() as session:
        row = session.get(FloorRow, response.get_json()["id"])
    assert row.body == bodies[0] and len(row.trace["pad"]) == 500
    for each in (plain, app):
        services(each).close()
