"""Health, readiness, metrics and the shell: request ids, JSON errors."""


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
