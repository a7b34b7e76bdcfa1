"""Backtest jobs beat while they run: a job whose worker process is killed is reported failed once
its lease has passed (never while it beats), keeps that verdict, and can be run again."""
import datetime
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.services.backtest import LEASE
from app.services.clock import utc_now
from app.services.errors import Conflict, NotFound
from app.storage import backtests
from tests.services.test_backtest import POLICY, stored  # noqa: F401 - the fixture

WORKER = Path(__file__).resolve().parent / "backtest_worker.py"
PATIENCE = 120  # seconds: a generous bound on a loaded machine; the test polls, it does not race


def until(condition, what):
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_a_job_whose_worker_is_killed_is_reported_failed_and_runs_again(firefly, stored, clock,  # noqa: F811
                                                                      database_url, redis_url):
    jobs = firefly.backtesting
    served = firefly.registry.current().policies[POLICY]
    child = subprocess.Popen([sys.executable, str(WORKER), database_url, redis_url or "-", POLICY, served.hash],
                             stdout=subprocess.PIPE, text=True)
    try:
        job_id = child.stdout.readline().strip()
        assert job_id, "the worker process printed no job"
        clock.now = utc_now()
        first = jobs.job(job_id)
        assert first["worker"].endswith(f":{child.pid}")
        # alive: its heartbeat moves on, and a reader sees it running, never failed
        until(lambda: jobs.job(job_id)["heartbeat_at"] != first["heartbeat_at"], "a heartbeat")
        clock.now = utc_now()
        assert jobs.job(job_id)["status"] == "running"
    finally:
        child.kill()   # SIGKILL: no handler, no cleanup, as when the machine takes the process away
        child.wait()
    clock.now = utc_now()
    assert jobs.job(job_id)["status"] == "running"           # within its lease it may still come back
    clock.now = utc_now() + LEASE + datetime.timedelta(seconds=1)
    dead = jobs.job(job_id)
    assert dead["status"] == "failed" and dead["finished_at"]
    assert f":{child.pid}" in dead["error"] and "no heartbeat since" in dead["error"] and "rerun" in dead["error"]
    with pytest.raises(Conflict) as refused:
        jobs.job_report(job_id)
    assert refused.value.details["status"] == "failed"

    again = jobs.rerun(job_id, "li.wei")
    assert again["backtest_id"] != job_id and again["candidate"]["hash"] == served.hash
    until(lambda: jobs.job(again["backtest_id"])["status"] in ("done", "failed"), "the job run again")
    done = jobs.job(again["backtest_id"])
    assert done["status"] == "done", done
    report, _ = jobs.job_report(again["backtest_id"])
    assert report["source"]["decided"] == len(stored) and report["source"]["not_reproduced"] == []
    assert jobs.job(job_id)["status"] == "failed"            # the dead job keeps its verdict


def test_a_worker_that_comes_back_after_its_job_was_declared_dead_changes_nothing(firefly, stored, clock):  # noqa: F811
    jobs = firefly.backtesting
    served = firefly.registry.current().policies[POLICY]
    from app.storage.models import Backtest
    with firefly.database.session() as session:
        backtests.add(session, Backtest(
            id="a" * 32, created_at=clock.now - LEASE - LEASE, status="running", requested_by="x",
            policy_name=POLICY, candidate_hash=served.hash, candidate_version=str(served.version),
            candidate_files=dict(served.files), selection={}, decided=1))   # a job from before heartbeats
    assert jobs.job("a" * 32)["status"] == "failed"
    assert not jobs._set("a" * 32, status="done", heartbeat_at=clock.now)   # what its worker would do
    assert jobs.job("a" * 32)["status"] == "failed"
    second = jobs.rerun("a" * 32, "x")
    with pytest.raises(Conflict):
        jobs.rerun(second["backtest_id"], "x")                              # only a failed job reruns
    until(lambda: jobs.job(second["backtest_id"])["status"] in ("done", "failed"), "the job run again")
    with pytest.raises(NotFound):
        jobs.rerun("b" * 32, "x")
