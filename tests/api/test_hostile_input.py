"""Client input never gives a 5xx: NUL bytes and control characters in every filter, id and replay
body; moments at the edge of the calendar; a server error is logged with its request id.

(On PostgreSQL a NUL byte that reached a query raised DataError, answered 503; an offset that moved
a moment out of the calendar raised OverflowError, answered 500.)
"""
import logging

import pytest

from app.api import schemas

SEARCH_TEXT = ["policy", "version", "hash", "group", "reason", "rule", "channel", "id_number", "phone"]


@pytest.mark.parametrize("name", SEARCH_TEXT)
@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "\x7f"])
def test_control_characters_in_a_search_filter_are_400_naming_it(client, auth, name, value):
    response = client.get("/v1/decisions", query_string={name: value}, headers=auth("compliance"))
    assert response.status_code == 400, response.get_json()
    assert name in response.get_json()["error"]["details"]


@pytest.mark.parametrize("decision_id", ["abc\x00def", "0" * 31 + "\x00", "A" * 32, "0" * 65])
def test_a_malformed_decision_id_never_reaches_the_database(client, auth, decision_id):
    """Decision ids are 32 hex digits: any other name under /v1/decisions/ is a policy to decide
    with (POST only), and no replay route."""
    read = client.get(f"/v1/decisions/{decision_id}", headers=auth("compliance"))
    assert read.status_code == 405, read.get_json()
    assert sorted(read.headers["Allow"].split(", ")) == ["OPTIONS", "POST"]
    replay = client.post(f"/v1/decisions/{decision_id}/replay", headers=auth("compliance"))
    assert replay.status_code == 404, replay.get_json()


def test_an_unknown_decision_id_is_404(client, auth):
    response = client.get("/v1/decisions/" + "0" * 32, headers=auth("compliance"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_decision"


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/v1/decisions/zhishandai.application", "OPTIONS, POST"),
    ("POST", "/v1/decisions/" + "0" * 32, "GET, HEAD, OPTIONS"),
    ("PUT", "/v1/decisions", "GET, HEAD, OPTIONS")])
def test_allow_names_only_the_methods_served(client, auth, method, path, allowed):
    response = client.open(path, method=method, headers=auth("compliance"))
    assert response.status_code == 405
    assert ", ".join(sorted(response.headers["Allow"].split(", "))) == allowed
    assert response.get_json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path, role", [("/v1/decisions/zhishandai.application", "channel"),
                                        ("/v1/decisions/" + "0" * 32, "compliance"),
                                        ("/v1/policies", "admin")])
def test_an_unknown_query_parameter_is_400_naming_it(client, auth, path, role):
    method = "POST" if path.endswith("application") else "GET"
    response = client.open(path + "?trase=true", method=method, json={}, headers=auth(role))
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"] == {"trase": ["Unknown field."]}


def test_a_nul_byte_in_a_replay_version_is_400(client, auth, decide, bodies):
    decision_id = decide(bodies[0]).get_json()["decision_id"]
    response = client.post(f"/v1/decisions/{decision_id}/replay", json={"version": "1\x002"},
                           headers=auth("compliance"))
    assert response.status_code == 400, response.get_json()
    assert "version" in response.get_json()["error"]["details"]


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
@pytest.mark.parametrize("name", ["created_from", "created_to"])
def test_a_moment_outside_the_calendar_in_utc_is_400(client, auth, moment, name):
    response = client.get("/v1/decisions", query_string={name: moment}, headers=auth("compliance"))
    assert response.status_code == 400, response.get_json()
    assert name in response.get_json()["error"]["details"]


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00Z",
                                    "9999-12-31T23:59:59"])
def test_the_edges_of_the_calendar_in_utc_are_valid_filters(client, auth, moment):
    response = client.get("/v1/decisions", query_string={"created_from": moment}, headers=auth("compliance"))
    assert response.status_code == 200, response.get_json()


def test_a_range_that_ends_before_it_starts_holds_nothing(client, auth, decide, bodies):
    decide(bodies[0])
    response = client.get("/v1/decisions", headers=auth("compliance"), query_string={
        "created_from": "2026-02-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"})
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_an_unexpected_error_is_logged_with_the_request_id(app, client, auth, caplog, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("planted")
    monkeypatch.setattr(schemas.SearchQuery, "load", broken)
    with caplog.at_level(logging.ERROR, logger="firefly.api"):
        response = client.get("/v1/decisions", headers={**auth("compliance"), "X-Request-Id": "req-planted-1"})
    assert response.status_code == 500
    assert response.get_json()["error"]["request_id"] == "req-planted-1"
    logged = [r for r in caplog.records if r.name == "firefly.api" and r.levelno == logging.ERROR]
    assert [getattr(r, "request_id", None) for r in logged] == ["req-planted-1"]
    assert logged[0].exc_info is not None


@pytest.mark.parametrize("path, value", [
    ("requested_amount", 10 ** 18),
    ("requested_amount", -(10 ** 30)),
    ("bureau.credit_card_utilisation", "0.0000000000000000001"),  # 19 places: not rounded to 0
    ("bureau.credit_card_utilisation", 10 ** 18),
])
def test_a_number_with_more_digits_than_allowed_is_422_naming_the_field(decide, bodies, path, value):
    body = {k: (dict(v) if isinstance(v, dict) else v) for k, v in bodies[0].items()}
    *parents, leaf = path.split(".")
    target = body
    for name in parents:
        target = target[name]
    target[leaf] = value
    response = decide(body)
    assert response.status_code == 422, response.get_json()
    assert path in response.get_json()["error"]["details"], response.get_json()


def test_the_published_schema_states_the_digit_bounds(client):
    spec = client.get("/openapi.json").get_json()
    body = spec["components"]["schemas"]["zhishandai.application.input"]["properties"]
    assert body["requested_amount"]["maximum"] == 10 ** 18 - 1
    assert body["decision_date"]["readOnly"] is True


@pytest.mark.parametrize("key", ["caf\u00e9", "tab\there", "\x7f"])
def test_an_idempotency_key_beyond_printable_ascii_is_400(decide, bodies, key):
    response = decide(bodies[0], headers={"Idempotency-Key": key})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_idempotency_key"


def test_a_release_reference_with_a_nul_byte_is_404(client, auth):
    for path in ("/v1/releases/abcdef\x00", "/v1/releases/abcdef\x00/diff"):
        response = client.get(path, headers=auth("compliance"))
        assert response.status_code == 404, response.get_json()
        assert response.get_json()["error"]["code"] == "unknown_release"


@pytest.mark.parametrize("path, field", [
    ("/v1/comparisons?policy=zhishandai%00&from=2026-11-01&to=2026-11-30", "policy"),
    ("/v1/releases/abcdef/diff?against=abcdef%00", "against")])
def test_a_control_character_in_a_query_is_400_naming_it(client, auth, path, field):
    """A NUL byte in a query the service looks up was sent to PostgreSQL, which cannot compare it:
    a 503 "database unavailable" for the caller's mistake (schemathesis found the comparisons')."""
    response = client.get(path, headers=auth("compliance"))
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["details"], response.get_json()


@pytest.mark.parametrize("field", ["pipl_consent_id", "bureau_authorisation_id"])
def test_a_nul_byte_in_a_consent_reference_is_422_naming_it_and_nothing_is_stored(decide, bodies, count_rows,
                                                                                  field):
    """The consent references are stored in their own columns: on PostgreSQL a NUL byte there
    failed the INSERT (DataError), answered 503 "could not be stored"."""
    body = {**bodies[0], "consent": {**bodies[0]["consent"], field: "PIPL-1\x00"}}
    response = decide(body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"] == {f"consent.{field}": ["must not contain the NUL character"]}
    # with another mistake in the same body, both are named
    body["requested_term_months"] = "many"
    both = decide(body).get_json()["error"]["details"]
    assert set(both) == {f"consent.{field}", "requested_term_months"}
    assert count_rows() == 0


@pytest.mark.parametrize("declaration, code", [
    ("{type: string, pii: resident_id, required: true, max_length: 18, pattern: '([0-9'}", "INPUT_PATTERN"),
    ("{type: string, pii: resident_id, required: true, max_length: 18, pattern: '^([0-9X]+)+$'}", "INPUT_PATTERN"),
    ("{type: string, pii: resident_id, required: true, max_length: eighteen}", "INPUT_CONSTRAINT"),
])
def test_a_release_with_a_broken_field_constraint_is_stored_failed_and_the_served_one_decides_on(
        client, auth, decide, bodies, declaration, code):
    """POST /v1/releases answered 500 (re.error or TypeError out of the checks) for these; now
    the release is stored with its located diagnostic, cannot be approved, and nothing changes
    for the channel."""
    from pathlib import Path
    from app.services.releases import ReleaseFiles
    folder = ReleaseFiles.from_folder(Path(__file__).resolve().parents[2])
    files = {**folder.files, **folder.test_files}
    path = "policies/zhishandai/application.yaml"
    old = "{type: string, pii: resident_id, required: true, max_length: 18}"
    assert old in files[path]
    files[path] = files[path].replace(old, declaration)
    submitted = client.post("/v1/releases", json={"files": files, "reason": "hostile constraint"},
                            headers=auth("author"))
    assert submitted.status_code == 201, submitted.get_json()
    release = submitted.get_json()
    assert not release["checks_passed"]
    [problem] = [d for d in release["report"]["diagnostics"] if d["severity"] == "error"]
    assert (problem["code"], problem["file"]) == (code, path) and problem["line"] > 0 and problem["column"] > 0
    approve = client.post(f"/v1/releases/{release['id']}/approve", json={"reason": "r"}, headers=auth("approver"))
    assert approve.status_code == 409
    assert decide(bodies[0]).status_code == 201
