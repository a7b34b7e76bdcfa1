"""The policies a process serves: the active release, loaded and validated before it replaces the
old set.

Every worker serves the active release of the database (app/services/releases.py): at start, on
SIGHUP or a reload through the API, and whenever a poll every FIREFLY_RELEASE_POLL seconds finds
another release active. In development, while no governed release was ever activated, a reload
loads, validates and tests the policy folder and imports it as a bootstrap release. A reload swaps
the whole set in one assignment or not at all; a rejected folder or release leaves the running
version serving. Every policy swapped in is also recorded in policy_versions (replay reads them).
"""
from __future__ import annotations

import datetime
import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.engine import Policy
from app.engine.testing import load_cases, run_policy_tests
from app.services import compiling
from app.services.clock import utc_now
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.policy_store import PolicyStore
from app.services.releases import ReleaseFiles, Releases

log = logging.getLogger("firefly.policies")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one snapshot is one load
class PolicySet:
    """An immutable snapshot: the policies by name, and when and where they were loaded from."""

    policies: dict[str, Policy]
    root: str
    loaded_at: datetime.datetime = field(default_factory=utc_now)
    release_id: str | None = None  # the release served (None: not from the database)


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    test_failures: list[dict[str, Any]] = field(default_factory=list)
    policy_set: PolicySet | None = None
    files: ReleaseFiles | None = None  # the folder's files, as read for this result

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "diagnostics": self.diagnostics, "test_failures": self.test_failures}


class PolicyRegistry:
    """Holds the current PolicySet of this process."""

    def __init__(self, root: str, store: PolicyStore, *, run_tests: bool = True,
                 engine: str | None = None, releases: Releases | None = None) -> None:
        self.root = root
        self.store = store
        self.releases = releases  # None: the folder alone (a batch job, a test without a database)
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self.run_tests = run_tests
        self.engine = engine  # FIREFLY_ENGINE: overrides each policy's own backend when set
        self._current = PolicySet({}, root)
        self._lock = threading.Lock()
        self.last_result: ReloadResult | None = None
        self.last_thread: threading.Thread | None = None
        # Set under gunicorn: asks the other workers to reload after a reload through the API.
        self.announce: Callable[[], None] | None = None

    def current(self) -> PolicySet:
        return self._current

    def served(self, name: str) -> Policy:
        """The policy of that name served now, or NotFound listing the known ones."""
        policies = self._current.policies
        policy = policies.get(name)
        if policy is None:
            known = ", ".join(sorted(policies)) or "none"
            raise NotFound(f"no policy named {name!r}; known policies: {known}", code="unknown_policy")
        return policy

    # --- loading ---------------------------------------------------------------------------------
    def start(self) -> bool:
        """Load the active release (in development the folder, imported); if the folder is broken,
        serve the active release, else the versions recorded last. An active release that is not
        the one approved (edited in the database) is never served, and nothing else stands in for
        it: the worker is not ready until an intact release is activated (`flask policy rollback`)."""
        result = self.reload()
        if result.ok:
            return True
        if any(d.get("code") in ("release_altered", "release_history_altered") for d in result.diagnostics):
            log.critical("no policies served: the active release is not the one approved, or the "
                         "releases' history is incomplete", extra={
                "event": "policy_start_failed", "diagnostics": result.diagnostics})
            return False
        if self._serve_active_release() or self.serve_last_good():
            return True
        log.error("no policies loaded at start-up; /readyz reports not ready",
                  extra={"event": "policy_start_failed"})
        return False

    def replace(self, root: str | None = None) -> ReloadResult:
        """Reload for a caller that waits for the answer: the result with the new set, or
        InvalidInput with every diagnostic and failing rule test. The other workers are asked to
        reload too."""
        result = self.reload(root)
        if not result.ok or result.policy_set is None:
            raise InvalidInput("the policy folder was rejected; the previous policies keep serving",
                               code="policy_rejected", details=result.to_dict())
        if self.announce is not None:
            self.announce()
        return result

    def reload(self, root: str | None = None) -> ReloadResult:
        """Load the active release (or, in development before any governed release, the folder,
        validated, tested and imported as a bootstrap release); swap it in only if all passes."""
        with self._lock:
            try:
                result = self._prepare_source(root or self.root)
            except Conflict as error:  # the releases' history is incomplete: nothing new is served
                result = ReloadResult(False, [{"code": "release_history_altered", "severity": "error",
                                               "message": error.message}])
            if result.ok and result.policy_set is not None:
                self._current = result.policy_set
                if root:
                    self.root = root
                self._record_all(result.policy_set)
                log.info("policies loaded", extra={"event": "policy_reload", "policies": {
                    name: {"version": p.version, "hash": p.hash}
                    for name, p in result.policy_set.policies.items()}})
            else:
                log.error("policy reload rejected; the previous policies keep serving",
                          extra={"event": "policy_reload_rejected", "diagnostics": result.diagnostics,
                                 "test_failures": result.test_failures})
            # counted once the new set serves (a reload counted is a reload done: tests wait on it)
            metrics.observe_reload(result.ok)
            self.last_result = result
            return result

    def _prepare_source(self, root: str) -> ReloadResult:
        try:
            from_folder = self.releases is None or self.releases.folder_allowed()
        except SQLAlchemyError as error:
            if self.releases.production:
                return ReloadResult(False, [{"code": "database_unavailable", "severity": "error",
                                             "message": f"the active release could not be read: {type(error).__name__}"}])
            log.warning("the database is down: serving the policy folder (development)",
                        extra={"event": "release_unreadable", "error": type(error).__name__})
            return self._prepare(root)
        if not from_folder:
            return self._prepare_active()
        result = self._prepare(root)
        if not result.ok or result.policy_set is None or self.releases is None:
            return result
        try:
            release_id = self.releases.bootstrap(root, result.files)
        except SQLAlchemyError as error:  # development with the database down: the folder still serves
            log.warning("the policy folder is served but not recorded as a release",
                        extra={"event": "bootstrap_failed", "error": type(error).__name__})
            return result
        return ReloadResult(True, result.diagnostics, [], PolicySet(
            result.policy_set.policies, root, release_id=release_id))

    def _prepare_active(self) -> ReloadResult:
        """The active release of the database, compiled (once per content in this process)."""
        active = self.releases.active() if self.releases is not None else None
        if active is None:
            return ReloadResult(False, [{"code": "no_active_release", "severity": "error",
                                         "message": "no release is active: submit, approve and activate one"}])
        if self._current.release_id == active.id:
            return ReloadResult(True, [], [], self._current)
        problem = self.releases.problem(active)
        if problem:  # what nobody approved is never served: the running set (or the last good) serves on
            metrics.observe_tampering("release")
            log.critical("the active release is not the one approved; it is not served", extra={
                "event": "release_altered", "release": active.id, "problem": problem})
            return ReloadResult(False, [{"code": "release_altered", "severity": "error",
                                         "message": f"release {active.id} {problem}; it is not served"}])
        try:
            loaded = compiling.load_files(dict(active.files), self.engine, origin=f"release {active.id}")
        except Exception as error:  # noqa: BLE001 - stored files this engine can no longer load
            loaded, failure = None, f"{type(error).__name__}: {error}"
        if loaded is None or not loaded.ok or not loaded.policies:
            message = failure if loaded is None else "the active release does not load"
            return ReloadResult(False, [{"code": "release_unloadable", "severity": "error", "message": message}]
                                + ([d.to_dict() for d in loaded.diagnostics] if loaded else []))
        return ReloadResult(True, [d.to_dict() for d in loaded.diagnostics], [],
                            PolicySet(loaded.policies, f"release {active.id}", release_id=active.id))

    def watch(self, interval: float) -> None:
        """Poll the active release every `interval` seconds and load it when it changed: activation
        and rollback reach every worker within about one interval (docs/controls.md)."""
        if interval <= 0 or self.releases is None or self._watcher is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    active = self.releases.active_id()
                except SQLAlchemyError:
                    continue  # the database is down: keep serving, look again later
                except Conflict:
                    continue  # the releases' history is incomplete (logged, counted): keep serving
                if active is not None and active != self._current.release_id:
                    self.reload()
        self._watcher = threading.Thread(target=run, name="firefly-release-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()

    def _prepare(self, root: str) -> ReloadResult:
        try:  # the files are read once: what is compiled and tested is what a bootstrap records
            files = ReleaseFiles.from_folder(root)
            loaded = compiling.load_files(files.files, self.engine, origin=str(root))
        except Exception as error:  # a broken folder must never take the service down
            return ReloadResult(False, [{"code": "load_failed", "message": f"{type(error).__name__}: {error}",
                                         "severity": "error"}])
        diagnostics = [d.to_dict() for d in loaded.diagnostics]
        if not loaded.ok or not loaded.policies:
            if not loaded.policies and loaded.ok:
                diagnostics.append({"code": "no_policies", "message": f"no policy found under {root}",
                                    "severity": "error"})
            return ReloadResult(False, diagnostics)
        failures = self._run_tests(loaded.policies, files.test_files) if self.run_tests else []
        if failures:
            return ReloadResult(False, diagnostics, failures)
        return ReloadResult(True, diagnostics, [], PolicySet(loaded.policies, root), files)

    @staticmethod
    def _run_tests(policies: dict[str, Policy], test_files: dict[str, str]) -> list[dict[str, Any]]:
        """The rule tests beside the policies, each failing case with its differences."""
        try:
            cases, diagnostics = load_cases(test_files)
            failures: list[dict[str, Any]] = [{"case": None, "message": d.message, **d.to_dict()}
                                              for d in diagnostics if d.severity == "error"]
            for result in run_policy_tests(policies, cases):
                if not result.passed:
                    failures.append({"case": result.case.id, "policy": result.case.policy,
                                     "backend": result.backend, "differences": list(result.differences)})
        except Exception as error:  # a broken test file rejects the reload, it does not crash
            failures = [{"case": None, "message": f"{type(error).__name__}: {error}"}]
        return failures

    def _record_all(self, policy_set: PolicySet) -> None:
        """Record every policy of a set just swapped in; a database that is down is no reason to
        refuse a valid set (each decision records its version again before it is stored)."""
        for policy in policy_set.policies.values():
            try:
                self.store.record(policy)
            except SQLAlchemyError as error:
                log.warning("policy version not recorded", extra={"event": "policy_record_failed",
                                                                  "error": type(error).__name__})

    def _serve_active_release(self) -> bool:
        if self.releases is None:
            return False
        try:
            result = self._prepare_active()
        except SQLAlchemyError:
            return False
        if not result.ok or result.policy_set is None:
            return False
        with self._lock:
            if not self._current.policies:
                self._current = result.policy_set
        log.warning("the policy folder is broken: serving the active release",
                    extra={"event": "policy_fallback", "release": result.policy_set.release_id})
        return True

    def serve_last_good(self) -> bool:
        """With a broken folder at start-up: serve, per policy, the version recorded last."""
        try:
            latest = self.store.newest_per_name()
        except SQLAlchemyError:
            return False
        try:
            policies = {name: compiling.load_version(name, dict(row.files), self.engine)
                        for name, row in latest.items()}
        except Exception as error:  # noqa: BLE001 - a stored version this engine can no longer load
            log.error("last good policies do not load", extra={"event": "policy_fallback_failed",
                                                               "error": f"{type(error).__name__}: {error}"})
            return False
        if not policies:
            return False
        with self._lock:
            if not self._current.policies:
                self._current = PolicySet(policies, "database")
        log.warning("the policy folder is broken: serving the last recorded versions",
                    extra={"event": "policy_fallback", "policies": {
                        name: {"version": p.version, "hash": p.hash} for name, p in policies.items()}})
        return True

    # --- signals -------------------------------------------------------------------------------
    def reload_in_background(self) -> threading.Thread:
        """Reload in a thread (what a SIGHUP does); the thread is kept so tests can join it."""
        self.last_thread = threading.Thread(target=self.reload, name="firefly-policy-reload", daemon=True)
        self.last_thread.start()
        return self.last_thread

    def install_sighup(self) -> None:
        """SIGHUP reloads the policies of this process (validated, atomic)."""
        signal.signal(signal.SIGHUP, lambda _signum, _frame: self.reload_in_background())
