"""OpenAPI 3 at /openapi.json lists every route and drives a schemathesis run with no server error."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from app import create_app
from app.extensions import services
from support.keys import KEYS
from support.settings import make_config

_app = None


def _schema_app(database_url, redis_url):
    """One app for the whole schemathesis run (hypothesis calls the test many times), on this
    worker's migrated database."""
    global _app
    if _app is None:
        _app = create_app(make_config(database_url, redis_url))
    return _app


PAGE_RESOURCES = {"static", "docs.assets", "docs.explorer_js"}


def test_every_route_is_documented(app, client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    policies = services(app).registry.current().policies
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PAGE_RESOURCES:  # the files a page loads, not operations of the API
            continue
        if rule.endpoint.startswith("console."):  # the console's pages (docs/console.md), not the API
            continue
        path = rule.rule.replace("<decision_id>", "{decision_id}").replace("<ref>", "{ref}")
        if "<policy_name>" in path:
            assert {path.replace("<policy_name>", name) for name in policies} <= documented
        else:
            assert path in documented, path


def test_request_schema_is_the_policys_own(app, client):
    spec = client.get("/openapi.json").get_json()
    body = spec["components"]["schemas"]["zhishandai.application.input"]
    assert set(body["properties"]) >= {"applicant", "residence", "bureau", "requested_amount"}
    assert "id_number" in body["properties"]["applicant"]["properties"]


def _key_for(operation):
    path, method = operation.path, operation.method.upper()
    if path.startswith("/v1/decisions/") and method == "POST" and not path.endswith("/replay"):
        return KEYS["channel"]
    if path == "/v1/policies/reload":
        return KEYS["admin"]
    return KEYS["compliance"]


def _operations(database_url, redis_url):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", _schema_app(database_url, redis_url))
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_server_error(mode, database_url, redis_url):
    """Generated requests (valid, then schema-violating) to every operation: no answer is a 5xx."""
    failures, calls = [], []
    for operation in _operations(database_url, redis_url):
        if operation.path == "/v1/policies/reload":
            continue  # reloading is exercised by its own tests
        headers = {"X-API-Key": _key_for(operation)}

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case):
            response = case.call(headers=headers)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append((operation.label, response.status_code, response.text[:300]))

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in this operation can be made invalid
    assert len(calls) > 100
    assert failures == []
