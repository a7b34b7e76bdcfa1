"""POST /v1/backtests: a background job over stored decisions, its status, report, changes and page."""
import datetime
import time

from app.extensions import services
from app.storage import backtests
from app.storage.models import Backtest
from support.applicants import examples
from support.http import URL

PATH = "policies/zhishandai/application.yaml"


def wait_until_finished(client, auth, location, bound_seconds=180):
    """Poll the job (generously bounded: the job decides a few rows, the machine may be busy)."""
    deadline = time.monotonic() + bound_seconds
    while True:
        job = client.get(location, headers=auth("compliance")).get_json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_backtest_job_runs_and_serves_its_report(app, client, auth):
    for body in examples().values():
        assert client.post(URL, json=body, headers=auth("channel")).status_code == 201
    served = services(app).registry.current().policies["zhishandai.application"]
    edited = served.files[PATH].replace("  min_income_local: 3000 ", "  min_income_local: 60000 ")
    started = client.post("/v1/backtests", headers=auth("compliance"),
                          json={"policy": "zhishandai.application", "candidate": {"files": {PATH: edited}}})
    assert started.status_code == 202, started.get_json()
    assert started.get_json()["status"] in ("queued", "running", "done")
    job = wait_until_finished(client, auth, started.headers["Location"])
    assert job["status"] == "done", job
    assert job["decided"] == 8 and job["requested_by"] == "test-compliance"
    report = client.get(started.headers["Location"] + "/report", headers=auth("author")).get_json()
    assert report["source"]["decided"] == 8 and report["source"]["not_reproduced"] == []
    assert job["changed"] == report["comparison"]["changed"]
    changes = client.get(started.headers["Location"] + "/changes", headers=auth("compliance")).get_json()["items"]
    assert len(changes) == report["comparison"]["changed"]
    assert all(set(c) == {"row", "baseline", "candidate", "rules_changed"} for c in changes)
    page = client.get(started.headers["Location"] + "/report.html", headers=auth("compliance"))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Backtest report" in page.get_data(as_text=True)


def test_backtests_need_author_or_compliance(client, auth):
    body = {"policy": "zhishandai.application", "candidate": {"version": "1900.1"}}
    assert client.post("/v1/backtests", json=body).status_code == 401
    for role in ("channel", "admin", "approver", "underwriter"):
        assert client.post("/v1/backtests", json=body, headers=auth(role)).status_code == 403
        assert client.get("/v1/backtests/x", headers=auth(role)).status_code == 403


def test_a_bad_request_is_refused_with_its_fields(client, auth):
    answer = client.post("/v1/backtests", headers=auth("compliance"),
                         json={"candidate": {"hash": "xyz", "version": "1"}, "created_from": "2026-11-01"})
    assert answer.status_code == 400
    details = answer.get_json()["error"]["details"]
    assert {"policy", "candidate", "created_from"} <= set(details)


def test_a_candidate_that_does_not_load_or_exist_is_refused_before_any_job(client, auth):
    broken = client.post("/v1/backtests", headers=auth("compliance"),
                         json={"policy": "zhishandai.application", "candidate": {"files": {PATH: "policy: ["}}})
    assert broken.status_code == 422 and broken.get_json()["error"]["details"]
    unknown = client.post("/v1/backtests", headers=auth("compliance"),
                          json={"policy": "zhishandai.application", "candidate": {"version": "1900.1"}})
    assert unknown.status_code == 404
    no_release = client.post("/v1/backtests", headers=auth("author"),
                             json={"policy": "zhishandai.application", "candidate": {"release": "abcdef123456"}})
    assert no_release.status_code == 404 and no_release.get_json()["error"]["code"] == "unknown_release"


def test_a_report_is_asked_for_before_the_job_is_done(app, client, auth):
    with services(app).database.session() as session:
        backtests.add(session, Backtest(
            id="0" * 32, created_at=datetime.datetime.now(datetime.timezone.utc), status="running",
            requested_by="x", policy_name="zhishandai.application", candidate_hash="a" * 64,
            candidate_version="1", candidate_files={}, selection={}, decided=3))
    assert client.get("/v1/backtests/" + "0" * 32, headers=auth("compliance")).get_json()["decided"] == 3
    assert client.get("/v1/backtests/" + "0" * 32 + "/report", headers=auth("compliance")).status_code == 409
    assert client.get("/v1/backtests/" + "1" * 32, headers=auth("compliance")).status_code == 404


def test_text_with_the_nul_character_is_refused_not_a_database_error(client, auth):
    """PostgreSQL cannot take NUL in text: found by the schemathesis run on PostgreSQL."""
    answer = client.post("/v1/backtests", headers=auth("compliance"),
                         json={"policy": "zhishandai\x00", "candidate": {"files": {"a\x00": "b"}}})
    assert answer.status_code == 400
    assert set(answer.get_json()["error"]["details"]) == {"policy", "candidate"}
    assert client.get("/v1/backtests/%00abc", headers=auth("compliance")).status_code == 404
    search = client.get("/v1/decisions?reason=%00&rule=EL-01", headers=auth("compliance"))
    assert search.status_code == 400 and list(search.get_json()["error"]["details"]) == ["reason"]


def test_only_a_failed_backtest_is_run_again(app, client, auth):
    served = services(app).registry.current().policies["zhishandai.application"]
    with services(app).database.session() as session:
        for job_id, status in (("1" * 32, "failed"), ("2" * 32, "done")):
            backtests.add(session, Backtest(
                id=job_id, created_at=datetime.datetime.now(datetime.timezone.utc), status=status,
                requested_by="x", policy_name=served.name, candidate_hash=served.hash,
                candidate_version=str(served.version), candidate_files=dict(served.files), selection={},
                decided=0, error="the worker running it (h:1) stopped" if status == "failed" else None))
    assert client.post("/v1/backtests/" + "1" * 32 + "/rerun", headers=auth("underwriter")).status_code == 403
    done = client.post("/v1/backtests/" + "2" * 32 + "/rerun", headers=auth("compliance"))
    assert done.status_code == 409 and done.get_json()["error"]["code"] == "backtest_not_failed"
    assert client.post("/v1/backtests/" + "3" * 32 + "/rerun", headers=auth("author")).status_code == 404
    again = client.post("/v1/backtests/" + "1" * 32 + "/rerun", headers=auth("author"))
    assert again.status_code == 202 and again.get_json()["requested_by"] == "test-author"
    job = wait_until_finished(client, auth, again.headers["Location"])   # (over no stored decision:
    assert job["status"] == "done" and job["candidate"]["hash"] == served.hash   # its status said 500)
    assert job["decided"] == 0 and job["changed"] is None
