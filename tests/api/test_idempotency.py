"""Idempotency-Key: same key and body give the stored decision; another body is a 409; across apps
(as across gunicorn workers) and under concurrency there is one decision per key."""
import threading

import pytest

from app import create_app
from app.extensions import services
from support.http import URL
from support.settings import make_config


def test_same_key_and_body_returns_the_stored_decision(decide, bodies, count_rows):
    first = decide(bodies[0], headers={"Idempotency-Key": "order-1"})
    again = decide(bodies[0], headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows() == 1


def test_same_key_other_body_is_409(decide, bodies, count_rows):
    assert decide(bodies[0], headers={"Idempotency-Key": "order-2"}).status_code == 201
    response = decide(bodies[1], headers={"Idempotency-Key": "order-2"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_conflict"
    assert count_rows() == 1


def test_rejected_input_does_not_use_up_the_key(decide, bodies, count_rows):
    assert decide({"bad": 1}, headers={"Idempotency-Key": "order-3"}).status_code == 422
    assert decide(bodies[0], headers={"Idempotency-Key": "order-3"}).status_code == 201
    assert count_rows() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_bad_keys_are_400(decide, bodies, key):
    response = decide(bodies[0], headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_idempotency_key"


def test_keys_are_shared_across_processes(app, database_url, redis_url, auth, bodies, count_rows):
    other = create_app(make_config(database_url, redis_url))
    first = app.test_client().post(URL, json=bodies[0], headers={**auth("channel"), "Idempotency-Key": "k"})
    second = other.test_client().post(URL, json=bodies[0], headers={**auth("channel"), "Idempotency-Key": "k"})
    assert second.status_code == 201
    assert second.get_json()["decision_id"] == first.get_json()["decision_id"]
    conflict = other.test_client().post(URL, json=bodies[1], headers={**auth("channel"), "Idempotency-Key": "k"})
    assert conflict.status_code == 409
    assert count_rows() == 1
    services(other).close()


def test_concurrent_requests_with_one_key_make_one_decision(app, database_url, redis_url, auth, bodies, count_rows):
    apps = [app, create_app(make_config(database_url, redis_url))]
    results, barrier = [], threading.Barrier(8)

    def post(index):
        client = apps[index % 2].test_client()
        barrier.wait()
        response = client.post(URL, json=bodies[0], headers={**auth("channel"), "Idempotency-Key": "race"})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count_rows() == 1
    # Retries wait for the request deciding under the key and answer with its decision.
    assert [status for status, _ in results] == [201] * 8, results
    assert len({body["decision_id"] for _, body in results}) == 1
    services(apps[1]).close()


def test_redis_down_falls_back_to_the_database(database_url, clean_state, auth, bodies, count_rows):
    app = create_app(make_config(database_url, "redis://127.0.0.1:1/0"))
    client = app.test_client()
    first = client.post(URL, json=bodies[0], headers={**auth("channel"), "Idempotency-Key": "r"})
    again = client.post(URL, json=bodies[0], headers={**auth("channel"), "Idempotency-Key": "r"})
    assert first.status_code == again.status_code == 201
    assert again.get_json()["decision_id"] == first.get_json()["decision_id"]
    assert client.post(URL, json=bodies[1], headers={**auth("channel"), "Idempotency-Key": "r"}).status_code == 409
    services(app).close()
