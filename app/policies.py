"""The policies a process serves: loaded, validated and tested before they replace the old set."""
import logging
import signal
import threading
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import metrics
from app.storage.models import PolicyVersion

log = logging.getLogger("firefly.policies")


class PolicySet:
    """An immutable snapshot: the policies by name, and when and where they were loaded from."""

    def __init__(self, policies, root, loaded_at=None):
        self.policies = dict(policies)
        self.root = root
        self.loaded_at = loaded_at or datetime.now(timezone.utc)


class ReloadResult:
    def __init__(self, ok, diagnostics=(), test_failures=(), policy_set=None):
        self.ok, self.diagnostics, self.test_failures = ok, list(diagnostics), list(test_failures)
        self.policy_set = policy_set

    def to_dict(self):
        return {"ok": self.ok, "diagnostics": self.diagnostics, "test_failures": self.test_failures}


class PolicyRegistry:
    """Holds the current PolicySet; a reload swaps it in one assignment or not at all."""

    def __init__(self, root, run_tests=True, engine=None):
        self.root = root
        self.run_tests = run_tests
        self.engine = engine  # FIREFLY_ENGINE: overrides each policy's own backend when set
        self._current = PolicySet({}, root)
        self._lock = threading.Lock()
        self._recorded = set()
        self.last_result = None
        self.last_thread = None
        self.session_factory = None  # set by init_app: every set swapped in is recorded

    def current(self):
        return self._current

    def reload(self, root=None):
        """Load, validate and test the policy folder; swap it in only if all of that passes."""
        with self._lock:
            result = self._prepare(root or self.root)
            if result.ok:
                self._current = result.policy_set
                if root:
                    self.root = root
                self._record_all(result.policy_set)
                metrics.RELOADS.labels("ok").inc()
                log.info("policies loaded", extra={"event": "policy_reload", "policies": {
                    name: {"version": p.version, "hash": p.hash}
                    for name, p in result.policy_set.policies.items()}})
            else:
                metrics.RELOADS.labels("rejected").inc()
                metrics.RELOAD_FAILURES.inc()
                log.error("policy reload rejected; the previous policies keep serving",
                          extra={"event": "policy_reload_rejected", "diagnostics": result.diagnostics,
                                 "test_failures": result.test_failures})
            self.last_result = result
            return result

    def _prepare(self, root):
        try:
            from app.engine import load_policy_root
            loaded = load_policy_root(root, engine=self.engine)
        except Exception as error:  # a broken folder must never take the service down
            return ReloadResult(False, [{"code": "load_failed", "message": f"{type(error).__name__}: {error}",
                                         "severity": "error"}])
        diagnostics = [d.to_dict() for d in loaded.diagnostics]
        if not loaded.ok or not loaded.policies:
            if not loaded.policies and loaded.ok:
                diagnostics.append({"code": "no_policies", "message": f"no policy found under {root}",
                                    "severity": "error"})
            return ReloadResult(False, diagnostics)
        failures = self._run_tests(loaded.policies, root) if self.run_tests else []
        if failures:
            return ReloadResult(False, diagnostics, failures)
        return ReloadResult(True, diagnostics, [], PolicySet(loaded.policies, root))

    def _run_tests(self, policies, root):
        """The rule tests beside the policies, each failing case with its differences."""
        from app.engine.testing import load_cases, read_test_files, run_policy_tests
        try:
            cases, diagnostics = load_cases(read_test_files(root))
            failures = [{"case": None, "message": d.message, **d.to_dict()}
                        for d in diagnostics if d.severity == "error"]
            for result in run_policy_tests(policies, cases):
                if not result.passed:
                    failures.append({"case": result.case.id, "policy": result.case.policy,
                                     "backend": result.backend, "differences": list(result.differences)})
        except Exception as error:  # a broken test file rejects the reload, it does not crash
            failures = [{"case": None, "message": f"{type(error).__name__}: {error}"}]
        return failures

    def record(self, session_factory, policy):
        """Make sure the policy version is in the policy_versions table (once per process)."""
        if policy.hash in self._recorded:
            return
        with session_factory() as session:
            if session.scalar(select(PolicyVersion.hash).where(PolicyVersion.hash == policy.hash)) is None:
                session.add(PolicyVersion(hash=policy.hash, name=policy.name, version=str(policy.version),
                                          engine=policy.engine, files=dict(policy.files)))
                try:
                    session.commit()
                except IntegrityError:  # another worker recorded it first
                    session.rollback()
        self._recorded.add(policy.hash)

    def _record_all(self, policy_set):
        """Record every policy of a set just swapped in, so that a worker that starts while the
        folder is broken can serve it (see serve_last_good); a database that is down is no reason
        to refuse a valid set (decisions record their version again)."""
        if self.session_factory is None:
            return
        for policy in policy_set.policies.values():
            try:
                self.record(self.session_factory, policy)
            except SQLAlchemyError as error:
                log.warning("policy version not recorded", extra={"event": "policy_record_failed",
                                                                  "error": type(error).__name__})

    def serve_last_good(self):
        """At start-up with a broken folder: serve, per policy, the version recorded last."""
        from app.engine import load_policy_files
        try:
            with self.session_factory() as session:
                rows = session.scalars(select(PolicyVersion).order_by(PolicyVersion.first_seen.desc())).all()
        except SQLAlchemyError:
            return False
        latest = {}
        for row in rows:
            latest.setdefault(row.name, row)
        try:
            policies = {name: load_policy_files(name, dict(row.files), self.engine)
                        for name, row in latest.items()}
        except Exception as error:  # a stored version this engine can no longer load
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

    def reload_in_background(self):
        """Reload in a thread (what a SIGHUP does); the thread is kept so tests can join it."""
        self.last_thread = threading.Thread(target=self.reload, name="firefly-policy-reload", daemon=True)
        self.last_thread.start()
        return self.last_thread

    def install_sighup(self):
        """SIGHUP reloads the policies of this process (validated, atomic)."""
        signal.signal(signal.SIGHUP, lambda _signum, _frame: self.reload_in_background())


def init_app(app):
    registry = PolicyRegistry(app.config["FIREFLY_POLICY_ROOT"], app.config["FIREFLY_RUN_POLICY_TESTS"],
                              app.config.get("FIREFLY_ENGINE"))
    app.extensions["firefly_policies"] = registry
    registry.session_factory = app.extensions["firefly_db"].sessions
    result = registry.reload()
    if not result.ok and not registry.serve_last_good():
        log.error("no policies loaded at start-up; /readyz reports not ready",
                  extra={"event": "policy_start_failed"})
