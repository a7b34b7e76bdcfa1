"""OpenAPI 3 at /openapi.json lists every route and drives a schemathesis run with no server error."""
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import create_app
from app.extensions import services
from support.documented import documented_path
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
        path = rule.rule.replace("<decision_id:decision_id>", "<decision_id>").replace(
            "<int:entry_id>", "<entry_id>").replace("<int:change_id>", "<change_id>").replace("<line_id:line_id>", "<line_id>")
        for name in ("decision_id", "ref", "request_ref", "backtest_id", "name", "entry_id", "line_id",
                     "change_id"):
            path = path.replace(f"<{name}>", "{" + name + "}")
        if "<policy_name:policy_name>" in path:
            assert {path.replace("<policy_name:policy_name>", name) for name in policies} <= documented
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
    if path.startswith("/v1/lists/changes/"):
        return KEYS["approver"]
    if path == "/v1/policies/reload" or path.startswith("/v1/lists/"):
        return KEYS["admin"]
    return KEYS["compliance"]


# A list entry's value must fit its kind (a resident ID's check digit, an 11-digit mobile) and an
# import's CSV text must name its columns: OpenAPI cannot say either, so a generated value is
# schema-valid and rightly refused (422; tests/api/test_anti_fraud.py checks those answers).
FITS_BEYOND_THE_SCHEMA = (("POST", "/v1/lists/{name}/entries"), ("POST", "/v1/lists/import"))


def _operations(database_url, redis_url):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", _schema_app(database_url, redis_url))
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_with_every_check_finds_nothing(mode, database_url, redis_url):
    """Generated requests (valid, then schema-violating) to every operation, every key, every
    schemathesis check: no server error, no answer outside its documented schema, no valid request
    refused and no invalid one accepted."""
    failures, calls = [], []
    for operation in _operations(database_url, redis_url):
        if operation.path == "/v1/policies/reload" or (operation.path, operation.method) == ("/v1/backtests", "post"):
            continue  # reloading has its own tests; a backtest's candidate is a policy folder (its own tests)
        headers = {"X-API-Key": _key_for(operation)}
        excluded = ([positive_data_acceptance]
                    if (operation.method.upper(), operation.path) in FITS_BEYOND_THE_SCHEMA else [])

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case):
            # A query parameter drawn as an empty list is not sent at all, so a "negative" case
            # whose only invalid part is such a parameter (an extra one, say) is a valid request
            # on the wire: schemathesis would still expect it refused.
            assume(not any(value == [] for value in (case.query or {}).values()))
            try:
                response = case.call_and_validate(headers=headers, excluded_checks=excluded)
                calls.append(response.status_code)
            except (AssertionError, BaseExceptionGroup) as failure:  # schemathesis' check failures
                failures.append((operation.label, str(failure)[:600]))

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in this operation can be made invalid
    assert len(calls) > 100
    assert failures == [], "\n".join(f"{label}: {text}" for label, text in failures)


@pytest.mark.parametrize("role", sorted(KEYS))
def test_schemathesis_with_every_key_finds_nothing(role, database_url, redis_url):
    """Every operation called with each role's key (a 403 where the role may not, documented so),
    every check: nothing found."""
    failures, calls = [], []
    for operation in _operations(database_url, redis_url):
        if operation.path == "/v1/policies/reload" or \
                (operation.path, operation.method) in (("/v1/releases", "post"), ("/v1/backtests", "post")):
            # Reloading has its own tests; a release's or a backtest's body is a whole policy
            # folder, which almost no generated one is (4xx with its diagnostics is the right
            # answer): they have their own tests.
            continue

        # A release's files are a map of path -> text whose paths must lie under policies/ or
        # rules/: OpenAPI 3.0 cannot constrain a map's keys (propertyNames is 3.1), so a generated
        # path elsewhere is schema-valid and rightly refused (422). Every other check still runs.
        excluded = ([positive_data_acceptance]
                    if (operation.method.upper(), operation.path) in (
                        ("POST", "/v1/releases"), *FITS_BEYOND_THE_SCHEMA) else [])

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case):
            # A query parameter drawn as an empty list is not sent at all, so a "negative" case
            # whose only invalid part is such a parameter (an extra one, say) is a valid request
            # on the wire: schemathesis would still expect it refused.
            assume(not any(value == [] for value in (case.query or {}).values()))
            try:
                calls.append(case.call_and_validate(headers={"X-API-Key": KEYS[role]},
                                                    excluded_checks=excluded).status_code)
            except (AssertionError, BaseExceptionGroup) as failure:
                failures.append((operation.label, str(failure)[:600]))

        run()
    assert len(calls) > 30 and 403 in calls
    assert failures == [], "\n".join(f"{label}: {text}" for label, text in failures)


def test_the_trace_parameter_lists_its_levels(client):
    spec = client.get("/openapi.json").get_json()
    decide = spec["paths"]["/v1/decisions/zhishandai.application"]["post"]
    trace = next(p for p in decide["parameters"] if p["name"] == "trace")
    search = next(p for p in spec["paths"]["/v1/decisions"]["get"]["parameters"] if p["name"] == "trace")
    for parameter in (trace, search):
        assert {"full", "hits", "none"} <= set(parameter["schema"]["enum"])
        assert parameter["schema"]["default"] == "none"


def test_the_document_refuses_a_nul_byte_in_a_consent_reference_as_the_service_does(client):
    import re
    spec = client.get("/openapi.json").get_json()
    consent = spec["components"]["schemas"]["zhishandai.application.input"]["properties"]["consent"]["properties"]
    for name in ("pipl_consent_id", "bureau_authorisation_id"):
        pattern = consent[name]["pattern"]
        assert re.search(pattern, "PIPL-20261128-0002") and not re.search(pattern, "PIPL-1\x00")


def test_every_route_that_takes_a_key_documents_429_with_retry_after(app, client):
    """A channel generates its client from the document: every answer authentication can give
    (401, 429 too_many_requests / too_many_attempts with Retry-After, 503) is listed with the error
    envelope on every route that takes a key (FIREFLY_RATE_LIMIT, FIREFLY_AUTH_FAILURE_LIMIT)."""
    spec = client.get("/openapi.json").get_json()
    guarded = 0
    for rule in app.url_map.iter_rules():
        roles = getattr(app.view_functions[rule.endpoint], "firefly_roles", None)
        if roles is None:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            views = [{"policy_name": name} for name in services(app).registry.current().policies] \
                if "policy_name" in rule.arguments else [{}]
            for view_args in views:
                path = documented_path(rule, view_args, spec["paths"])
                responses = spec["paths"][path][method.lower()]["responses"]
                guarded += 1
                for status in ("401", "429", "503"):
                    assert responses[status]["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"}, (method, path, status)
                assert responses["429"]["headers"]["Retry-After"]["required"] is True, (method, path)
                assert responses["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
                assert "too_many_requests" in responses["429"]["description"]
                assert "too_many_attempts" in responses["429"]["description"]
    assert guarded > 30


def test_every_operation_that_reads_a_json_body_documents_400_413_415(client):
    spec = client.get("/openapi.json").get_json()
    reading = [(path, method, operation) for path, operations in spec["paths"].items()
               for method, operation in operations.items()
               if "application/json" in operation.get("requestBody", {}).get("content", {})]
    assert len(reading) > 15
    for path, method, operation in reading:
        for status in ("400", "408", "413", "415"):
            assert status in operation["responses"], (method, path, status)
        timeout = operation["responses"]["408"]
        assert timeout["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "request_timeout" in timeout["description"] and "FIREFLY_READ_TIMEOUT" in timeout["description"]
        assert timeout["headers"]["Connection"]["required"] is True, (method, path)
        assert timeout["headers"]["Connection"]["schema"]["enum"] == ["close"]


def test_every_operation_documents_what_the_server_answers_before_the_app(client):
    """gunicorn answers a request it cannot read (app/api/server.py writes the answer) before the
    app sees it, on any path: every operation lists 400, 414, 417 and 431 with the error envelope
    and Connection: close, each naming its code, and the document's description says so once."""
    from app.api.server import GUNICORN_CODES
    spec = client.get("/openapi.json").get_json()
    text = spec["info"]["description"]
    assert "Before the app" in text and "Connection: close" in text and "envelope" in text
    for status in (400, 414, 417, 431):
        assert f"{status} ({GUNICORN_CODES[status]})" in text
    operations = [(path, method, operation) for path, ops in spec["paths"].items()
                  for method, operation in ops.items()]
    assert len(operations) > 40
    for path, method, operation in operations:
        for status in (400, 414, 417, 431):
            answer = operation["responses"][str(status)]
            assert answer["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, (method, path, status)
            assert "before the app" in answer["description"], (method, path, status)
            assert GUNICORN_CODES[status] in answer["description"], (method, path, status)
            # only the server answers 414, 417 and 431, always closing; where the app answers 400
            # too (its text first), the app's own 400 keeps the connection
            only_the_server = answer["description"].startswith("answered by the server")
            assert only_the_server is (status != 400 or only_the_server), (method, path, status)
            assert answer["headers"]["Connection"]["required"] is only_the_server, (method, path, status)
            assert answer["headers"]["Connection"]["schema"]["enum"] == (
                ["close"] if only_the_server else ["close", "keep-alive"]), (method, path, status)
    # an operation whose own 400 the app gives keeps its text first, and its connection
    decide = spec["paths"]["/v1/decisions/zhishandai.application"]["post"]["responses"]["400"]
    assert decide["description"].startswith("malformed JSON or invalid parameters; or answered by the server")
    assert decide["headers"]["Connection"]["required"] is False
    assert decide["headers"]["Connection"]["schema"]["enum"] == ["close", "keep-alive"]
