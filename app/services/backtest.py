"""Backtest: the stored inputs of past decisions (personal data unsealed, the external values as
they were stored, each on its own decision date) decided again on the version that decided them
and on a candidate; the same comparison report as a simulation.

The baseline is what was decided: each row is re-decided on its stored version, and a row whose
result is not reproduced exactly is listed in the report (`source.not_reproduced`); a row that fails
its integrity check is not re-decided and is listed apart (`source.altered`). Run at once
(`run`, the CLI) or as a background job (`start`, then `job`, `job_report`; the API).
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import re
import socket
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from app import metrics, privacy, reports
from app.engine import Policy, PolicyError
from app.privacy import PersonalData
from app.services import batch, compiling, records, reporting
from app.services.batch import Item, Job, Progress, VersionSpec
from app.services.reporting import ComparisonResult
from app.services.clock import Clock, iso_utc
from app.services.velocity import SharedInput
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.policy_store import PolicyStore
from app.services.registry import PolicyRegistry
from app.services.simulation import CHANGES_FILE, load_candidate, release_policy, write
from app.services.tally import coverage_items
from app.storage import backtests
from app.storage.db import Database
from app.storage.models import Backtest as BacktestRow
from app.storage.models import Decision as DecisionRow

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# A running job's worker stores a heartbeat every HEARTBEAT; a job silent for longer than LEASE is
# taken for dead (its process killed, its machine gone) and reported failed the next time it is read.
HEARTBEAT = datetime.timedelta(seconds=10)
LEASE = datetime.timedelta(seconds=60)


def this_worker() -> str:
    """Who runs a job: host and process (asked each time: a forked worker has its own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"
_JOB_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Candidate:
    """The version to try: a policy folder on this machine (`path`), changed policy files
    {relative path: text} laid over the served version's files (`files`: send only what you
    edited), a stored version by hash prefix or version string, or a release by id or content
    hash (`release`; a `path` that is no file is tried as a release too)."""

    path: str | None = None
    files: dict[str, str] | None = None
    hash: str | None = None
    version: str | None = None
    release: str | None = None


@dataclass(frozen=True)
class BacktestRequest:
    """`policy` None: the candidate folder's only policy (a candidate given by path)."""

    policy: str | None
    candidate: Candidate
    created_from: datetime.datetime | None = None
    created_to: datetime.datetime | None = None
    out: Path | None = None
    workers: int = 1
    dask: Any = None
    keep_rows: bool = False
    chunk_rows: int = batch.CHUNK_ROWS


class Backtesting:
    def __init__(self, database: Database, personal: PersonalData, store: PolicyStore,
                 registry: PolicyRegistry, engine: str | None, clock: Clock, workers: int = 1,
                 releases: Any = None, heartbeat: datetime.timedelta = HEARTBEAT,
                 lease: datetime.timedelta = LEASE) -> None:
        self.releases = releases
        self.heartbeat = heartbeat
        self.lease = lease
        self.database = database
        self.registry = registry
        self.personal = personal
        self.store = store
        self.engine = engine
        self.clock = clock
        self.workers = workers  # worker processes of a background job

    # --- the candidate -------------------------------------------------------------------------
    def candidate(self, policy_name: str | None, candidate: Candidate) -> Policy:
        if candidate.path is not None:
            return load_candidate(candidate.path, policy_name, self.engine, self.releases)
        if candidate.release is not None:
            return release_policy(self.releases.files_of(candidate.release), policy_name, self.engine,
                                  f"release {candidate.release}")
        if policy_name is None:
            raise InvalidInput("name the policy whose decisions to re-decide", code="policy_needed")
        if candidate.files is not None:
            served = self.registry.current().policies.get(policy_name)
            if served is None:
                raise NotFound(f"no served policy {policy_name!r} to lay the files over", code="unknown_policy")
            try:
                return compiling.load_version(policy_name, {**served.files, **candidate.files}, self.engine)
            except PolicyError as error:
                raise InvalidInput("the candidate's files do not load", code="policy_invalid",
                                   details=[str(d) for d in error.diagnostics]) from None
        if candidate.hash is None and candidate.version is None:
            raise InvalidInput("name a candidate: a folder, its files, or a stored version's hash or version",
                               code="candidate_needed")
        found = self.store.matching(policy_name, hash_prefix=candidate.hash, version=candidate.version)
        if not found:
            raise NotFound(f"no stored version of {policy_name} matches the candidate", code="unknown_policy_version")
        if len(found) > 1:
            raise Conflict("several versions match; name one by its hash", code="ambiguous_policy_version",
                           details=[v.hash for v in found])
        return compiling.load_version(policy_name, dict(found[0].files), found[0].engine)

    # --- running -------------------------------------------------------------------------------
    def count(self, request: BacktestRequest) -> int | None:
        """How many stored decisions the request selects (for a progress bar); None without a policy."""
        if request.policy is None:
            return None
        with self.database.session() as session:
            return backtests.count_between(session, request.policy, request.created_from, request.created_to)

    def run(self, request: BacktestRequest, progress: Progress | None = None,
            candidate: Policy | None = None) -> ComparisonResult:
        """Re-decide every stored decision of the request's policy and period; write the report
        files when `out` is given."""
        candidate = candidate or self.candidate(request.policy, request.candidate)
        if request.policy is not None and candidate.name != request.policy:
            raise InvalidInput(f"the candidate is policy {candidate.name}, not {request.policy}",
                               code="candidate_mismatch")
        if request.policy is None:
            request = replace(request, policy=candidate.name)
        # The versions that made the selected decisions, known before any row is sent anywhere.
        with self.database.session() as session:
            hashes = backtests.versions_between(session, request.policy, request.created_from, request.created_to)
        stored = {h: self._stored_version(request.policy, h) for h in hashes}
        versions = {**stored, candidate.hash: VersionSpec.of(candidate, self.engine)}
        rows = backtests.decisions_between(self.database, request.policy, request.created_from, request.created_to)
        altered: list[str] = []  # filled as the rows are read (in this process, whatever the workers)
        merged = batch.run(Job(versions, candidate.hash, request.keep_rows),
                           batch.chunked(self._items(rows, stored, altered), request.chunk_rows),
                           workers=request.workers, dask=request.dask, progress=progress)
        baselines = [spec.load() for spec in stored.values()]
        report = reporting.build(
            merged, kind="backtest",
            source={"selection": _selection(request), "policy": request.policy, "altered": altered},
            versions={"baseline": [spec.identity() for spec in stored.values()],
                      "candidate": versions[candidate.hash].identity()},
            coverage={"baseline": _union(coverage_items(p) for p in baselines),
                      "candidate": coverage_items(candidate)},
            texts=reporting.merged_texts([*baselines, candidate]), changes_file=CHANGES_FILE,
            outcomes=reporting.outcome_names([*baselines, candidate]))
        result = ComparisonResult(report, merged.changed, merged.rows)
        if request.out is not None:
            result.written = write(request.out, report, merged.changed)
        return result

    def _items(self, rows: Iterator[DecisionRow], stored: dict[str, VersionSpec],
               altered: list[str]) -> Iterator[Item]:
        """Each stored decision as an Item: the input restored (personal data unsealed), its
        decision date, its stored version, what it decided. A row that is not what the service
        wrote is left out and its id added to `altered`: an input and result swapped in the
        database reproduce on their version, and would skew the comparison unseen."""
        for row in rows:
            if row.policy_hash not in stored:  # decided while the backtest read the rows
                continue
            if not records.intact(row, self.personal):
                metrics.observe_tampering("decision")
                log.error("a stored decision fails its integrity check; left out of the backtest",
                          extra={"event": "record_altered", "decision_id": row.id})
                altered.append(row.id)
                continue
            clear = self.personal.unseal(row.pii_sealed) if row.pii_sealed else {}
            result = row.result if isinstance(row.result, dict) else json.loads(row.result)
            yield Item(row.id, privacy.restore(row.input_masked, clear), row.policy_hash, row.decision_date,
                       {"outcome": result["outcome"], "limit": result["limit"],
                        "customer_group": result["customer_group"], "score": result["score"],
                        "score_band": result["score_band"], "reasons": [r["code"] for r in result["reasons"]]},
                       row.created_at,
                       # the shared values the decision used, from its trace, never today's counters
                       SharedInput.from_trace(row.trace if isinstance(row.trace, dict) else json.loads(row.trace)).values or None)

    def _stored_version(self, policy_name: str, policy_hash: str) -> VersionSpec:
        found = self.store.matching(policy_name, policy_hash=policy_hash)
        if not found:
            raise Conflict(f"the version {policy_hash[:12]} of stored decisions is not stored",
                           code="unknown_policy_version")
        version = found[0]
        return VersionSpec(version.name, version.version, version.hash, dict(version.files), version.engine)

    # --- background jobs -----------------------------------------------------------------------
    def start(self, request: BacktestRequest, requested_by: str) -> dict[str, Any]:
        """Record a job and run it on a thread of this process; its state is in the database, so
        any worker of the service answers for it."""
        candidate = self.candidate(request.policy, request.candidate)  # refuse a bad one now, not later
        return self._launch(request, candidate, requested_by)

    def rerun(self, job_id: str, requested_by: str) -> dict[str, Any]:
        """Run a failed job again, as a new job: the same candidate files and the same period."""
        row = self._row(job_id)
        if row.status != FAILED:
            raise Conflict(f"backtest {row.id} is {row.status}; only a failed one is run again",
                           code="backtest_not_failed", details={"status": row.status})
        candidate = compiling.load_version(row.policy_name, dict(row.candidate_files), self.engine)
        if candidate.hash != row.candidate_hash:  # this engine reads the stored files differently now
            raise Conflict(f"the candidate of backtest {row.id} no longer loads as it did",
                           code="candidate_changed")
        selection = row.selection or {}
        request = BacktestRequest(row.policy_name, Candidate(hash=row.candidate_hash),
                                  _moment(selection.get("created_from")), _moment(selection.get("created_to")))
        return self._launch(request, candidate, requested_by)

    def _launch(self, request: BacktestRequest, candidate: Policy, requested_by: str) -> dict[str, Any]:
        now = self.clock()
        job_id = f"{int(now.timestamp() * 1000):012x}{os.urandom(10).hex()}"
        with self.database.session() as session:
            backtests.add(session, BacktestRow(
                id=job_id, created_at=now, status=QUEUED, requested_by=requested_by, policy_name=candidate.name,
                candidate_hash=candidate.hash, candidate_version=str(candidate.version),
                candidate_files=dict(candidate.files), selection=_selection(request), decided=0,
                heartbeat_at=now, worker=this_worker()))
        thread = threading.Thread(target=self._run_job, args=(job_id, request, candidate),
                                  name=f"backtest-{job_id[:12]}", daemon=True)
        thread.start()
        return self.job(job_id)

    def _run_job(self, job_id: str, request: BacktestRequest, candidate: Policy) -> None:
        done = [0]
        stopped = threading.Event()

        def progress(rows: int) -> None:
            done[0] += rows
            self._set(job_id, decided=done[0], heartbeat_at=self.clock())

        # A thread of its own beats while the rows are decided: one chunk may take longer than the lease.
        threading.Thread(target=self._beat, args=(job_id, stopped), name=f"beat-{job_id[:12]}", daemon=True).start()
        try:
            self._set(job_id, status=RUNNING, heartbeat_at=self.clock())
            result = self.run(BacktestRequest(request.policy, request.candidate, request.created_from,
                                              request.created_to, workers=self.workers),
                              progress=progress, candidate=candidate)
            self._set(job_id, status=DONE, report=json.loads(json.dumps(result.report, default=str)),
                      changes=json.loads(json.dumps(result.changed, default=str)), finished_at=self.clock())
        except Exception as error:  # noqa: BLE001 - a job that fails says why in its status
            log.exception("backtest %s failed", job_id)
            message = error.message if hasattr(error, "message") else f"{type(error).__name__}: {error}"
            self._set(job_id, status=FAILED, error=message, finished_at=self.clock())
        finally:
            stopped.set()

    def _beat(self, job_id: str, stopped: threading.Event) -> None:
        """Say the job's worker is alive every `heartbeat` seconds, until the job ends."""
        while not stopped.wait(self.heartbeat.total_seconds()):
            try:
                if not self._set(job_id, heartbeat_at=self.clock()):
                    return  # done, failed, or declared dead by a reader
            except Exception:  # noqa: BLE001 - a missed beat is no failure of the job; the lease allows several
                log.warning("backtest %s: the heartbeat could not be stored", job_id, exc_info=True)

    def _set(self, job_id: str, **fields: Any) -> bool:
        """Move a live job on; False once it is no longer queued or running (a job declared dead
        keeps that verdict: a worker that comes back does not overwrite it)."""
        with self.database.session() as session:
            moved = backtests.set_fields(session, job_id, (QUEUED, RUNNING), **fields)
        if not moved and "status" in fields:
            log.warning("backtest %s was no longer running; its %s is dropped", job_id, fields["status"])
        return moved

    def _row(self, job_id: str) -> BacktestRow:
        row = None
        if _JOB_ID.fullmatch(job_id):  # anything else names no job (and may not even be text to the database)
            with self.database.session() as session:
                row = backtests.get(session, job_id)
        if row is None:
            raise NotFound(f"no backtest {job_id!r}", code="unknown_backtest")
        return self._alive(row)

    def _alive(self, row: BacktestRow) -> BacktestRow:
        """The row as it stands, a job whose worker fell silent for longer than the lease failed."""
        if row.status not in (QUEUED, RUNNING):
            return row
        now = self.clock()
        last = row.heartbeat_at or row.created_at
        message = (f"the worker running it ({row.worker or 'unknown'}) stopped: no heartbeat since "
                   f"{iso_utc(last)}; start it again (POST /v1/backtests/{row.id}/rerun)")
        with self.database.session() as session:
            if backtests.fail_if_silent(session, row.id, (QUEUED, RUNNING), now - self.lease,
                                        status=FAILED, error=message, finished_at=now):
                log.error("backtest %s: its worker %s stopped beating; reported failed", row.id, row.worker)
            return backtests.get(session, row.id)

    def job(self, job_id: str) -> dict[str, Any]:
        """A job's state: what was asked, how far it is, and where its result is when done."""
        return _state(self._row(job_id))

    def of_versions(self, hashes: list[str]) -> list[dict[str, Any]]:
        """The jobs that tried any of these versions (the policies of a release), newest first,
        each as `summary` gives it."""
        with self.database.session() as session:
            rows = backtests.of_candidates(session, hashes)
        return [_summary(self._alive(row)) for row in rows]

    def summary(self, job_id: str) -> dict[str, Any]:
        """A job's state and, once done, its candidate's rule coverage (the items that never fired)."""
        return _summary(self._row(job_id))

    def job_report(self, job_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A finished job's report and changed decisions; Conflict while it is not done."""
        row = self._row(job_id)
        if row.status != DONE:
            raise Conflict(f"backtest {job_id} is {row.status}, not done", code="backtest_not_done",
                           details={"status": row.status, "error": row.error})
        return row.report, row.changes or []

    def job_page(self, job_id: str) -> str:
        report, changed = self.job_report(job_id)
        return reports.render_html(report, changed)


def _state(row: BacktestRow) -> dict[str, Any]:
    return {"backtest_id": row.id, "status": row.status, "created_at": iso_utc(row.created_at),
            "finished_at": iso_utc(row.finished_at) if row.finished_at else None,
            "requested_by": row.requested_by, "policy": row.policy_name,
            "candidate": {"hash": row.candidate_hash, "version": row.candidate_version},
            "selection": row.selection, "decided": row.decided, "error": row.error,
            "heartbeat_at": iso_utc(row.heartbeat_at) if row.heartbeat_at else None, "worker": row.worker,
            # (no comparison when the period held no decision: nothing was decided on either side)
            "changed": (row.report.get("comparison") or {}).get("changed") if row.report else None}


def _summary(row: BacktestRow) -> dict[str, Any]:
    done = row.status == DONE and row.report and row.report.get("candidate")
    return {**_state(row), "coverage": _never_fired(row.report["candidate"]["coverage"]) if done else None}


def _never_fired(coverage: dict[str, Any]) -> dict[str, Any]:
    """A report's coverage as a reader wants it: how many items fired of how many, and the items
    (requirement, rule, table row, bin) that never did, with their stage and name."""
    never = set(coverage["never_fired"])
    return {"total": coverage["total"], "fired": coverage["fired"],
            "never_fired": [item for item in coverage["items"] if item["id"] in never]}


def _moment(text: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(text) if text else None


def _selection(request: BacktestRequest) -> dict[str, Any]:
    return {"policy": request.policy,
            "created_from": request.created_from.isoformat() if request.created_from else None,
            "created_to": request.created_to.isoformat() if request.created_to else None}


def _union(lists: Any) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item["id"], item)
    return list(seen.values())

