"""Health, readiness, metrics and the shell: request ids, JSON errors."""
from app import create_app
from app.extensions import services
from support.http import URL
from support.settings import make_config


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_every_check(client, app):
    response = client.get("/readyz")
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["policies"] == "ok"
    if app.config["REDIS_URL"]:
        assert body["checks"]["redis"] == "ok"
    assert response.status_code == 200


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"}).headers["X-Request-Id"]
    assert len(made) == 32 and " " not in made


def test_unknown_route_is_a_json_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_metrics_are_prometheus_text(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert b"firefly_http_requests_total" in response.data


def test_redis_down_leaves_the_instance_ready_but_degraded(database_url, clean_state, auth, bodies):
    """A load balancer must not pull an instance that decides: Redis down is reported, not a 503."""
    app = create_app(make_config(database_url, "redis://127.0.0.1:1/0"))
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "degraded" and body["degraded"] == ["redis", "velocity"]
    assert body["checks"]["redis"].startswith("unavailable") and body["checks"]["database"] == "ok"
    assert client.post(URL, json=bodies[0], headers=auth("channel")).status_code == 201
    assert 'firefly_dependency_up{dependency="redis"} 0.0' in client.get("/metrics").get_data(as_text=True)
    services(app).close()


def test_database_down_is_not_ready(clean_state, redis_url):
    app = create_app(make_config("postgresql+psycopg://nobody@127.0.0.1:1/none", redis_url))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["checks"]["database"].startswith("unavailable")
    assert 'firefly_dependency_up{dependency="database"} 0.0' in app.test_client().get("/metrics").get_data(as_text=True)
    services(app).close()


def test_all_up_is_ready_and_not_degraded(client):
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready" and body["degraded"] == []
