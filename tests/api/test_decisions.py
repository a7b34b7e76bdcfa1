"""POST /v1/decisions/<policy>: 201 with the stored decision, and every way a client can get it wrong."""
import json

import pytest

from app.extensions import services
from support.http import URL


def test_decision_is_stored_and_returned(decide, bodies, count_rows, policy):
    response = decide(bodies[0])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["outcome"] in ("APPROVE", "DECLINE", "REFER")
    assert body["policy"] == {"name": policy.name, "version": str(policy.version), "hash": policy.hash,
                              "engine": policy.engine}
    assert len(body["decision_id"]) == 32 and response.headers["Location"].endswith(body["decision_id"])
    for reason in body["reasons"]:
        assert reason["zh"] and reason["en"] and reason["code"]
    assert "trace" not in body
    assert count_rows() == 1


def test_every_generated_applicant_gets_a_decision(decide, bodies, count_rows):
    outcomes = set()
    for body in bodies:
        response = decide(body)
        assert response.status_code == 201, response.get_json()
        answer = response.get_json()
        outcomes.add(answer["outcome"])
        if answer["outcome"] != "APPROVE":
            assert answer["reasons"], answer
        if answer["outcome"] == "APPROVE":
            assert answer["limit"] and answer["limit"] % 1000 == 0
    assert count_rows() == len(bodies)


def test_the_trace_comes_at_the_level_asked_and_the_row_keeps_it_whole(decide, bodies, client, auth):
    hits_answer = decide(bodies[1], query="?trace=hits").get_json()
    hits = hits_answer["trace"]
    # what compliance reads of the decision answered at `hits` is its full trace, and the answer
    # was that trace with each rule set cut to its matched rules
    full = client.get(f"/v1/decisions/{hits_answer['decision_id']}", headers=auth("compliance")).get_json()["trace"]
    rulesets = [(whole, cut) for whole, cut in zip(full["stages"], hits["stages"]) if whole["kind"] == "ruleset"]
    assert rulesets and all(cut["rules"] == [r for r in whole["rules"] if r["matched"]]
                            for whole, cut in rulesets)
    assert sum(len(cut["rules"]) for _, cut in rulesets) < sum(len(whole["rules"]) for whole, _ in rulesets)
    assert {k: v for k, v in hits.items() if k != "stages"} == {k: v for k, v in full.items() if k != "stages"}
    assert [s for s in hits["stages"] if s["kind"] != "ruleset"] == [s for s in full["stages"] if s["kind"] != "ruleset"]
    assert "trace" not in decide(bodies[1], query="?trace=none").get_json()
    for level in ("full", "TRUE", "1"):  # every rule of every rule set, matched or not
        whole = decide(bodies[1], query=f"?trace={level}").get_json()["trace"]
        assert [len(s["rules"]) for s in whole["stages"] if s["kind"] == "ruleset"] == \
            [len(w["rules"]) for w, _ in rulesets]


@pytest.mark.parametrize("value", ["yes", "", "hit", "full,hits", "2"])
def test_an_unknown_trace_level_is_a_400_naming_the_parameter(decide, bodies, count_rows, value):
    response = decide(bodies[0], query=f"?trace={value}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_query"
    assert error["details"] == {"trace": ["must be full, hits or none (true means full, false none)"]}
    assert count_rows() == 0


def test_a_retried_request_is_answered_at_the_level_it_asks(decide, bodies):
    key = {"Idempotency-Key": "trace-levels-1"}
    first = decide(bodies[2], headers=key, query="?trace=none").get_json()
    again = decide(bodies[2], headers=key, query="?trace=hits")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["decision_id"] == first["decision_id"]
    assert all(rule["matched"] for stage in again.get_json()["trace"]["stages"] if stage["kind"] == "ruleset"
               for rule in stage["rules"])


def test_trace_on_request(decide, bodies):
    body = decide(bodies[1], query="?trace=true").get_json()
    trace = body["trace"]
    assert trace["policy"]["hash"] == body["policy"]["hash"]
    assert trace["stages"] and trace["features"]


def test_decision_date_is_the_service_date(decide, bodies):
    sent = dict(bodies[2], decision_date="1999-01-01")
    body = decide(sent, query="?trace=true").get_json()
    assert body["decision_date"] != "1999-01-01"
    assert body["trace"]["input"]["decision_date"] == body["decision_date"]


def test_unknown_policy_is_404(client, auth, bodies):
    response = client.post("/v1/decisions/nope.application", json=bodies[0], headers=auth("channel"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_policy"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client, auth, bodies, content_type, count_rows):
    headers = auth("channel")
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(URL, data=json.dumps(bodies[0]), headers=headers)
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert count_rows() == 0


def test_oversized_body_is_413(client, auth, app, count_rows):
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post(URL, data=b"{" + b" " * size + b"}", headers={**auth("channel"),
                                                                         "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert count_rows() == 0


@pytest.mark.parametrize("data", [b"{", b"[1, 2]", b"\"text\"", b"{\"a\": NaN}", b"\xff\xfe", b"",
                                  b'{"applicant": {"name": "\\ud800"}}', b'{"\\uDFFF": 1}',
                                  b"[" * 5000 + b"]" * 5000])
def test_malformed_json_is_400(client, auth, data, count_rows):
    response = client.post(URL, data=data, headers={**auth("channel"), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"
    assert count_rows() == 0


def test_every_field_error_is_reported_by_path(decide, bodies, count_rows):
    body = json.loads(json.dumps(bodies[0]))
    del body["applicant"]["id_number"]
    body["residence"]["city_code"] = "abc"
    body["requested_amount"] = "lots"
    body["bureau"]["credit_card_utilisation"] = True
    body["unexpected"] = 1
    response = decide(body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert {"applicant.id_number", "residence.city_code", "requested_amount",
            "bureau.credit_card_utilisation", "unexpected"} <= set(error["details"])
    assert count_rows() == 0


def test_error_answers_carry_the_request_id(decide):
    response = decide({}, headers={"X-Request-Id": "req-42"})
    assert response.status_code == 422
    assert response.get_json()["error"]["request_id"] == "req-42"


@pytest.mark.parametrize("mutation", [
    lambda b: b["applicant"].update(id_number=None),
    lambda b: b.update(applicant=[]),
    lambda b: b.update(requested_amount=10 ** 40),
    lambda b: b.update(requested_amount=-1),
    lambda b: b.update(requested_amount=1.5),
    lambda b: b["residence"].update(city_code=330100),
    lambda b: b["applicant"].update(id_number="3" * 500),
    lambda b: b.update(applicant={"id_number": "x" * 18}),
])
def test_bad_values_are_422_never_500(decide, bodies, mutation):
    body = json.loads(json.dumps(bodies[3]))
    mutation(body)
    response = decide(body)
    assert response.status_code in (201, 422), response.get_json()


def test_wrong_method_is_a_json_405(client, auth):
    response = client.put(URL, json={}, headers=auth("channel"))
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_durable_backend_serves_the_same_decisions(app, decide, policy_root):
    """The same policy with `engine: durable` answers exactly as the compiled backend did."""
    import re

    from support.applicants import examples
    from support.shared_state import forget_shared_state
    samples = list(examples().values())
    compiled = [decide(body).get_json() for body in samples]
    path = policy_root / "policies" / "zhishandai" / "application.yaml"
    path.write_text(re.sub(r"(?m)^engine: .*$", "engine: durable", path.read_text(encoding="utf-8")),
                    encoding="utf-8")
    assert services(app).registry.reload(str(policy_root)).ok
    forget_shared_state(app)  # the second pass counts afresh, as the first did
    durable = [decide(body).get_json() for body in samples]
    for before, after in zip(compiled, durable):
        assert after["policy"]["engine"] == "durable"
        for field in ("outcome", "limit", "customer_group", "score", "score_band", "reasons"):
            assert after[field] == before[field], field


@pytest.mark.parametrize("example", ["approve_salaried", "approve_premium"])
def test_the_readmes_example_redated_for_today_is_approved(client, auth, example):
    # README: python3 examples/today.py examples/<example>.json | curl ... --data @-
    import subprocess
    import sys

    from support.settings import REPO
    printed = subprocess.run([sys.executable, "examples/today.py", f"examples/{example}.json"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
    response = client.post(URL, data=printed, content_type="application/json",
                           headers=auth("channel"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["outcome"] == "APPROVE", response.get_json()["reasons"]
