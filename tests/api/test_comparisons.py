"""GET /v1/comparisons and `flask models compare`: a challenger in shadow through the API, the
swap matrix of the two arms, search by arm."""
import pytest

from app import create_app
from app.extensions import services
from services.test_challengers import CHALLENGER, CHAMPION, _root
from support.applicants import generate
from support.keys import KEYS
from support.settings import make_config


@pytest.fixture
def shadow_app(tmp_path, database_url, redis_url, clean_state):
    root = _root(tmp_path, f"{{policy: {CHALLENGER}, mode: shadow}}")
    app = create_app(make_config(database_url, redis_url, FIREFLY_POLICY_ROOT=root))
    yield app
    services(app).close()


def test_a_shadow_through_the_api_and_its_swap_matrix(shadow_app):
    client = shadow_app.test_client()
    channel, compliance = {"X-API-Key": KEYS["channel"]}, {"X-API-Key": KEYS["compliance"]}
    days = set()
    for body in generate(12, 8):
        response = client.post(f"/v1/decisions/{CHAMPION}", json=body, headers=channel)
        assert response.status_code == 201, response.text
        assert response.get_json()["arm"] == "champion"
        days.add(response.get_json()["decision_date"])
    shadows = client.get("/v1/decisions?arm=shadow", headers=compliance).get_json()["items"]
    assert len(shadows) == 12 and all(s["policy"]["name"] == CHALLENGER for s in shadows)
    one = client.get(f"/v1/decisions/{shadows[0]['shadow_of']}", headers=compliance).get_json()
    assert one["arm"] == "champion" and one["policy"]["name"] == CHAMPION
    assert one["shadow_id"] == shadows[0]["decision_id"]        # the stored link, both ways
    assert one["record"]["intact"] and all(s["record"]["intact"] for s in shadows)
    query = f"policy={CHAMPION}&from={min(days)}&to={max(days)}"
    response = client.get(f"/v1/comparisons?{query}", headers=compliance)
    assert response.status_code == 200, response.text
    report = response.get_json()
    assert report["shadow_pairs"] == 12
    assert sum(n for row in report["swap_matrix"].values() for n in row.values()) == 12
    assert client.get(f"/v1/comparisons?{query}", headers=channel).status_code == 403
    bad = client.get(f"/v1/comparisons?policy={CHAMPION}&from=2026-12-01&to=2026-11-01", headers=compliance)
    assert bad.status_code == 404  # a period that ends before it starts holds no decision
    assert client.get("/v1/decisions?arm=nobody", headers=compliance).status_code == 400

    result = shadow_app.test_cli_runner().invoke(args=["models", "compare", "--policy", CHAMPION,
                                                       "--from", min(days), "--to", max(days)])
    assert result.exit_code == 0, result.output
    assert "swap matrix over 12 shadowed applications" in result.output
    assert "shadow" in result.output and "champion" in result.output


def test_no_experiment_in_the_period_is_a_404(client, auth):
    response = client.get("/v1/comparisons?policy=zhishandai.application&from=2020-01-01&to=2020-01-02",
                          headers=auth("compliance"))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "no_decisions"
