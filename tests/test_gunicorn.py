"""The real server: gunicorn with 2 workers; metrics gathered from both; SIGHUP to the master (and a
reload through the API) reloads the policies in every worker, and a broken folder is rejected by each."""
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from app.extensions import services
from app.services import velocity as velocity_module

from support.applicants import examples
from support.http import URL, set_version
from support.keys import TEST_API_KEYS
from support.settings import REPO

DEADLINE = 60  # seconds; every wait below ends as soon as its condition holds


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture
def server(database_url, redis_url, clean_state, policy_root, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "FIREFLY_API_KEYS": TEST_API_KEYS,
           "FIREFLY_POLICY_ROOT": str(policy_root), "FIREFLY_WORKERS": "2", "FIREFLY_BIND": f"127.0.0.1:{port}",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "FIREFLY_RUN_POLICY_TESTS": "0",
           "FIREFLY_SEAL_INTERVAL": "0.5", "FIREFLY_RELEASE_POLL": "0.5"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    (tmp_path / "metrics").mkdir()
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(base + "/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return process.poll() is not None and pytest.fail((tmp_path / "gunicorn.log").read_text())
    try:
        wait_for(up, "gunicorn to start")
        yield process, base, policy_root, tmp_path / "gunicorn.log"
    finally:
        # Shown only when the test fails: what the server said, without the access lines.
        print("\n".join(line for line in (tmp_path / "gunicorn.log").read_text().splitlines()
                        if '"gunicorn.access"' not in line and "alembic" not in line)[-6000:])
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def versions_seen(base, auth, tries=12):
    """The policy versions answered by the workers over several fresh connections."""
    seen = set()
    for _ in range(tries):
        body = requests.get(base + "/v1/policies", headers={**auth("channel"), "Connection": "close"},
                            timeout=10).json()
        seen.add(body["policies"][0]["version"])
    return seen


def hashes_seen(base, auth, tries=12):
    """The policy content hashes answered by the workers over several fresh connections."""
    return {requests.get(base + "/v1/policies", headers={**auth("channel"), "Connection": "close"},
                         timeout=10).json()["policies"][0]["hash"] for _ in range(tries)}


def metric(base, name):
    total = 0.0
    for line in requests.get(base + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_workers_decide_reload_and_report(server, auth, app):
    process, base, root, log_path = server
    bodies = list(examples().values())
    for body in bodies * 2:
        response = requests.post(base + URL, json=body, headers={**auth("channel"), "Connection": "close"},
                                 timeout=30)
        assert response.status_code == 201, response.text
    assert metric(base, "firefly_decisions_total") == len(bodies) * 2

    once = {**auth("channel"), "Idempotency-Key": "across-workers", "Connection": "close"}
    answers = [requests.post(base + URL, json=bodies[0], headers=once, timeout=30) for _ in range(6)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["decision_id"] for a in answers}) == 1
    assert requests.post(base + URL, json=bodies[1], headers=once, timeout=30).status_code == 409
    assert metric(base, "firefly_decisions_total") == len(bodies) * 2 + 1

    number = bodies[0]["applicant"]["id_number"]
    found = requests.get(base + "/v1/decisions", params={"id_number": number}, headers=auth("compliance"),
                         timeout=30).json()
    assert len(found["items"]) == 3

    # Waits count the workers' reloads (counted once the new set serves): fresh connections may all
    # land on one worker while the other is still reloading, so what they see proves nothing.
    reloads = metric(base, "firefly_policy_reloads_total")
    set_version(root, "2099.7")
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: metric(base, "firefly_policy_reloads_total") >= reloads + 2, "both workers to reload")
    assert versions_seen(base, auth) == {"2099.7"}

    eligibility = root / "rules" / "eligibility.yaml"
    eligibility.write_text(eligibility.read_text(encoding="utf-8") + "\n  - {id: [unclosed\n", encoding="utf-8")
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: metric(base, "firefly_policy_reload_failures_total") >= 2, "both workers to reject")
    assert versions_seen(base, auth) == {"2099.7"}
    eligibility.write_text(eligibility.read_text(encoding="utf-8").replace("\n  - {id: [unclosed\n", ""),
                           encoding="utf-8")

    reloads = metric(base, "firefly_policy_reloads_total")
    set_version(root, "2099.8")
    response = requests.post(base + "/v1/policies/reload", headers=auth("admin"), timeout=30)
    assert response.status_code == 200, response.text
    # the worker that answered reloads, then both reload on the master's SIGHUP: three in all
    wait_for(lambda: metric(base, "firefly_policy_reloads_total") >= reloads + 3,
             "every worker to reload after the API reload")
    assert versions_seen(base, auth) == {"2099.8"}
    answer = requests.post(base + URL, json=bodies[0], headers=auth("channel"), timeout=30).json()
    assert answer["policy"]["version"] == "2099.8"

    # The workers seal the decision log in the background, taking turns: every decision is linked once.
    audit = services(app).audit_log
    wait_for(lambda: audit.verify("decisions").unsealed == 0, "the workers to seal every decision")
    sealed = audit.verify("decisions")
    assert sealed.ok and sealed.checked == len(bodies) * 2 + 2

    assert number not in log_path.read_text()
    access = [json.loads(line) for line in log_path.read_text().splitlines()
              if line.startswith("{") and '"gunicorn.access"' in line]
    assert access and all(entry["path"].startswith("/") for entry in access)
    assert any(entry["request_id"] not in ("", "-") for entry in access)


def test_a_release_approved_by_another_key_reaches_every_worker_and_the_folder_does_not(server, auth, app):
    """The issue's end-to-end test: maker-checker by key, activation served by both workers, a folder
    edit changes nothing served, a rollback made outside the API reaches both workers by their poll."""
    process, base, root, _ = server
    firefly = services(app)
    bootstrap_hash = wait_for(lambda: (lambda seen: len(seen) == 1 and seen)(hashes_seen(base, auth)),
                              "both workers to serve the bootstrap release").pop()
    second_approver = {"X-API-Key": firefly.access.create("approver-2", "approver")}
    set_version(root, "2099.5")
    from app.services.releases import ReleaseFiles
    files = ReleaseFiles.from_folder(root)
    submitted = requests.post(base + "/v1/releases", headers=auth("approver"), timeout=120,
                              json={"files": {**files.files, **files.test_files}, "reason": "2099.5"})
    assert submitted.status_code == 201, submitted.text
    release = submitted.json()
    assert release["checks_passed"] and release["state"] == "submitted"
    url = f"{base}/v1/releases/{release['id']}"
    own = requests.post(url + "/approve", headers=auth("approver"), json={"reason": "mine"}, timeout=30)
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_release"
    diff = requests.get(url + "/diff", headers=second_approver, timeout=30).json()
    assert diff["files"]["changed"] == ["policies/zhishandai/application.yaml"]
    assert requests.post(url + "/approve", headers=second_approver, json={"reason": "reviewed"},
                         timeout=30).status_code == 200
    # Waits count the workers' reloads, as in the test above: what a few fresh connections see
    # may all come from one worker.
    reloads = metric(base, "firefly_policy_reloads_total")
    assert requests.post(url + "/activate", headers=auth("admin"), json={"reason": "go live"},
                         timeout=30).status_code == 200
    new_hash = release["policies"]["zhishandai.application"]["hash"]
    # the worker that answered reloads (at most twice: then on the master's SIGHUP), so a third
    # reload is the other worker's, of the release active by then
    wait_for(lambda: metric(base, "firefly_policy_reloads_total") >= reloads + 3,
             "every worker to serve the new release")
    assert hashes_seen(base, auth) == {new_hash}

    reloads = metric(base, "firefly_policy_reloads_total")
    set_version(root, "2099.6")
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: metric(base, "firefly_policy_reloads_total") >= reloads + 2, "both workers to reload")
    assert hashes_seen(base, auth) == {new_hash}  # the folder is not what is served

    reloads = metric(base, "firefly_policy_reloads_total")
    firefly.releases.rollback(firefly.access.authenticate(auth("admin")["X-API-Key"]), "roll back by CLI")
    # nothing announces a rollback made outside the API: each worker's poll finds it and reloads once
    wait_for(lambda: metric(base, "firefly_policy_reloads_total") >= reloads + 2,
             "every worker to find the rollback by polling")
    assert hashes_seen(base, auth) == {bootstrap_hash}
    actions = [e["action"] for e in requests.get(base + "/v1/audit", headers=auth("compliance"),
                                                 timeout=30).json()["items"]]
    assert {"release.submit", "release.approve", "release.activate", "release.rollback"} <= set(actions)


@pytest.mark.parametrize("env, expected", [
    ({}, 1),                                           # make run: counters in the one process
    ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, os.cpu_count() * 2 + 1),
    ({"FIREFLY_WORKERS": "3"}, 3),                     # said explicitly: as said
    ({"REDIS_URL": "redis://127.0.0.1:6379/0", "FIREFLY_WORKERS": "2"}, 2),
])
def test_without_redis_one_worker_serves_so_that_a_burst_is_counted_whole(monkeypatch, env, expected):
    """Without REDIS_URL the anti-fraud counters live in the serving process: several workers
    would each count a part of a burst (against `make run` with five workers, the fourth
    application from one device within minutes read a count of 2: the README's burst example
    could not decline)."""
    for name in ("REDIS_URL", "FIREFLY_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp")
    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert settings["workers"] == expected


def test_a_worker_keeps_no_anti_fraud_marks_to_flush_on_its_way_out(monkeypatch):
    """Marks Redis refused are owed in the database (tests/services/test_velocity_owed_marks.py),
    written by any worker: there is no worker_exit hook to write them, which a worker killed
    (kill -9, OOM) never ran anyway. One way."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp")
    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert "worker_exit" not in settings
    assert not hasattr(velocity_module.Velocity, "flush_pending")
