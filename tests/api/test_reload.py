"""Policies at run time: listing, reload via the API and SIGHUP, validated and tested before the swap;
a broken folder is rejected and the old version keeps serving, also under concurrent requests."""
import json
import os
import signal
import threading

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.extensions import services
from app.storage.models import PolicyVersion
from support.applicants import applicants
from support.http import POLICY, URL, set_parameter, set_version
from support.settings import make_config


@pytest.fixture
def served(app, policy_root):
    """The app serving a private copy of the policy folder, with rule tests run on every reload."""
    app.config["FIREFLY_POLICY_ROOT"] = str(policy_root)
    registry = services(app).registry
    registry.root, registry.run_tests = str(policy_root), True
    assert registry.reload().ok
    return policy_root


def served_hash(client, auth):
    body = client.get("/v1/policies", headers=auth("channel")).get_json()
    return {p["name"]: p["hash"] for p in body["policies"]}[POLICY]


def test_list_policies(client, auth, policy):
    body = client.get("/v1/policies", headers=auth("compliance")).get_json()
    assert {"name": POLICY, "version": str(policy.version), "hash": policy.hash,
            "engine": policy.engine} in body["policies"]


def test_reload_swaps_in_a_new_version(client, auth, served, decide, bodies, app):
    old = served_hash(client, auth)
    assert decide(bodies[0]).get_json()["policy"]["hash"] == old
    set_version(served, "2099.3")
    response = client.post("/v1/policies/reload", headers=auth("admin"))
    assert response.status_code == 200, response.get_json()
    new = served_hash(client, auth)
    assert new != old and {"name": POLICY, "version": "2099.3", "hash": new,
                           "engine": "compiled"} in response.get_json()["policies"]
    assert decide(bodies[1]).get_json()["policy"]["hash"] == new
    with services(app).database.session() as session:
        versions = dict(session.execute(select(PolicyVersion.hash, PolicyVersion.files)).all())
    assert {old, new} <= set(versions)
    assert "policies/zhishandai/application.yaml" in versions[new]
    assert '"2099.3"' in versions[new]["policies/zhishandai/application.yaml"]


def test_broken_file_is_rejected_with_diagnostics(client, auth, served, decide, bodies):
    old = served_hash(client, auth)
    path = served / "rules" / "eligibility.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("when: ", "when: bureau.nonexistent_field > 1 and ", 1),
                    encoding="utf-8")
    response = client.post("/v1/policies/reload", headers=auth("admin"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "policy_rejected"
    located = [d for d in error["details"]["diagnostics"] if d["severity"] == "error"]
    assert located and located[0]["file"] == "rules/eligibility.yaml" and located[0]["line"] > 0
    assert served_hash(client, auth) == old
    assert decide(bodies[0]).get_json()["policy"]["hash"] == old


def test_failing_rule_tests_reject_the_reload(client, auth, served, app):
    old = served_hash(client, auth)
    set_parameter(served, "minimum_limit", 450000)
    response = client.post("/v1/policies/reload", headers=auth("admin"))
    assert response.status_code == 422
    failures = response.get_json()["error"]["details"]["test_failures"]
    assert failures and all(f["differences"] for f in failures if f.get("differences") is not None)
    assert served_hash(client, auth) == old


def test_reload_failures_are_counted(client, auth, served):
    (served / "rules" / "segmentation.yaml").write_text("ruleset: [unclosed", encoding="utf-8")
    assert client.post("/v1/policies/reload", headers=auth("admin")).status_code == 422
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "firefly_policy_reload_failures_total" in metrics


def test_a_worker_starting_on_a_broken_folder_serves_the_last_good_version(app, served, database_url, redis_url,
                                                                        auth, bodies):
    """A worker that (re)starts while the folder is broken serves the versions recorded last."""
    set_version(served, "2099.6")
    assert services(app).registry.reload().ok
    eligibility = served / "rules" / "eligibility.yaml"
    eligibility.write_text(eligibility.read_text(encoding="utf-8") + "\n  - {id: [unclosed\n", encoding="utf-8")
    restarted = create_app(make_config(database_url, redis_url, FIREFLY_POLICY_ROOT=str(served)))
    client = restarted.test_client()
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/policies", headers=auth("channel")).get_json()["policies"][0]["version"] == "2099.6"
    answer = client.post(URL, json=bodies[0], headers=auth("channel")).get_json()
    assert answer["policy"]["version"] == "2099.6"
    services(restarted).close()


def test_sighup_reloads(app, client, auth, served):
    registry = services(app).registry
    previous = signal.getsignal(signal.SIGHUP)
    try:
        registry.install_sighup()
        set_version(served, "2099.4")
        os.kill(os.getpid(), signal.SIGHUP)
        registry.last_thread.join()
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert registry.current().policies[POLICY].version == "2099.4"
    body = client.get("/v1/policies", headers=auth("channel")).get_json()
    assert body["policies"][0]["version"] == "2099.4"


def test_reload_under_concurrent_requests_fails_no_request(app, auth, served, policy, count_rows):
    """Clients post decisions through a real HTTP server while the policies are reloaded over and
    over (alternating versions, with a rejected broken folder in between)."""
    registry = services(app).registry
    registry.run_tests = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{URL}"
    bodies = applicants(policy, 120, seed=11)
    results = []

    def client(chunk):
        with requests.Session() as session:
            for body in chunk:
                response = session.post(url, data=json.dumps(body), timeout=60,
                                         headers={**auth("channel"), "Content-Type": "application/json"})
                results.append((response.status_code, response.json()["policy"]["version"]
                                if response.status_code == 201 else response.text))

    clients = [threading.Thread(target=client, args=(bodies[i::4],)) for i in range(4)]
    for thread in clients:
        thread.start()
    reloads, rejected, versions = 0, 0, {str(policy.version)}
    eligibility = served / "rules" / "eligibility.yaml"
    good = eligibility.read_text(encoding="utf-8")
    while any(thread.is_alive() for thread in clients) or reloads < 3:
        if reloads % 3 == 2:
            eligibility.write_text(good + "\n  - {id: [unclosed\n", encoding="utf-8")
            rejected += not registry.reload().ok
            eligibility.write_text(good, encoding="utf-8")
        else:
            version = f"2099.5.{reloads}"
            set_version(served, version)
            assert registry.reload().ok
            versions.add(version)
        reloads += 1
    for thread in clients:
        thread.join()
    server.shutdown()
    assert len(results) == len(bodies)
    assert [r for r in results if r[0] != 201] == []
    assert {version for _, version in results} <= versions
    assert rejected == sum(1 for i in range(reloads) if i % 3 == 2)
    assert count_rows() == len(bodies)
