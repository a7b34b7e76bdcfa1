"""Policy releases: what is served is a release, submitted by one person and approved by another.

A release is an immutable set of files (policies, rules and their rule tests) with its content hash
and the report of the checks run when it was submitted (validation and rule tests); a release whose
report failed cannot be approved. Its state is the sum of its events, each with who, when and why:

    submitted -> approved -> active -> retired        (or submitted -> rejected)

Exactly one release is active: the one activated (or rolled back to) last. Every worker serves it
(app/services/registry.py reads it at start, on SIGHUP and every FIREFLY_RELEASE_POLL seconds).
In development, while no governed release was ever activated, the policy folder is imported as a
release marked `bootstrap` (submitted, approved and activated by "bootstrap"), so `make run` works
on an empty database; production refuses that.
"""
from __future__ import annotations

import datetime
import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from app import metrics
from app.engine import read_policy_root
from app.engine import InputError, PolicyError
from app.engine.source import parse_yaml
from app.engine.testing import backend_disagreements, load_cases, read_test_files, run_policy_tests
from app.privacy import PersonalData
from app.services import compiling, integrity
from app.services.access import Principal
from app.services.access_audit import AccessAudit
from app.services.clock import Clock, iso_utc, utc_now
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.storage import chain
from app.storage import releases as store
from app.storage.db import Database
from app.storage.models import Release, ReleaseEvent

log = logging.getLogger("firefly.releases")

BOOTSTRAP = Principal("bootstrap", "system")
# A release carries every policy, rule and rule-test file (about 200 KB for the reference policy):
# larger than an application's body limit (FIREFLY_MAX_BODY_BYTES); the API and the console take this much.
MAX_RELEASE_BYTES = 8 * 1024 * 1024
MAX_RELEASE_FILES = 2000
SUBMITTERS = ("author", "approver")
APPROVERS = ("approver",)
OPERATORS = ("approver", "admin")  # activate and roll back
MAX_REASON = 2000
_PAGE = 8  # activations read at a time when looking for the newest genuine one


@dataclass(frozen=True)
class ReleaseFiles:
    files: dict[str, str]       # policies/ and rules/, what the engine loads
    test_files: dict[str, str]  # policies/**/tests/, the rule tests

    @classmethod
    def from_folder(cls, root: str | Path) -> "ReleaseFiles":
        try:
            return cls(read_policy_root(root), read_test_files(root))
        except PolicyError as error:  # a file that is not UTF-8 text
            raise InvalidInput("the folder's files cannot be read: " + "; ".join(str(d) for d in error.diagnostics),
                               code="invalid_release_files", details=[d.to_dict() for d in error.diagnostics]) from None

    @classmethod
    def from_mapping(cls, files: dict[str, str]) -> "ReleaseFiles":
        """Split uploaded files into policy files and rule tests by their paths."""
        bad = [p for p in files if not (p.startswith("policies/") or p.startswith("rules/")) or ".." in p]
        if bad:
            raise InvalidInput("release files live under policies/ or rules/", code="invalid_release_files",
                               details={"files": bad})
        tests = {p: t for p, t in files.items() if p.startswith("policies/") and "/tests/" in p}
        return cls({p: t for p, t in files.items() if p not in tests}, tests)

    @classmethod
    def from_zip(cls, data: bytes) -> "ReleaseFiles":
        """The policy folder as a zip file (policies/ and rules/ at its top, or inside one folder):
        its text files, read with bounds on their number and unpacked size."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            entries = [e for e in archive.infolist() if not e.is_dir()]
        except (zipfile.BadZipFile, ValueError):
            raise InvalidInput("the upload is not a zip file of the policy folder", code="invalid_release_zip") from None
        if len(entries) > MAX_RELEASE_FILES or sum(e.file_size for e in entries) > MAX_RELEASE_BYTES * 4:
            raise InvalidInput(f"the zip file holds too much: at most {MAX_RELEASE_FILES} files and "
                               f"{MAX_RELEASE_BYTES * 4 // 1024 // 1024} MB unpacked", code="invalid_release_zip")
        names = [e.filename for e in entries if not _ignored(e.filename)]
        top = {name.split("/", 1)[0] for name in names}
        prefix = f"{top.pop()}/" if len(top) == 1 and not top & {"policies", "rules"} else ""
        files: dict[str, str] = {}
        for entry in entries:
            if _ignored(entry.filename):
                continue
            try:
                files[entry.filename.removeprefix(prefix)] = archive.read(entry).decode("utf-8")
            except (UnicodeDecodeError, zipfile.BadZipFile, RuntimeError):
                raise InvalidInput(f"{entry.filename} is not a readable UTF-8 text file", code="invalid_release_zip",
                                   details={"files": [entry.filename]}) from None
        if not files:
            raise InvalidInput("the zip file holds no policy files", code="invalid_release_zip")
        return cls.from_mapping(files)

    @property
    def content_hash(self) -> str:
        return compiling.content_hash({**self.files, **self.test_files})


def _ignored(name: str) -> bool:
    """What a zip tool adds beside the folder (macOS resource forks, editor leftovers)."""
    parts = name.split("/")
    return any(part.startswith(".") or part == "__MACOSX" for part in parts) or name.endswith("~")


class Releases:
    def __init__(self, database: Database, personal: PersonalData, audit: AccessAudit, *,
                 production: bool, engine: str | None, clock: Clock = utc_now,
                 verify_backends: bool = False) -> None:
        self.verify_backends = verify_backends  # FIREFLY_RELEASE_VERIFY_BACKENDS: both engines agree
        self.database = database
        self.personal = personal
        self.audit = audit
        self.production = production
        self.engine = engine
        self.clock = clock

    # -- the steps ----------------------------------------------------------------------------
    def submit(self, files: ReleaseFiles, who: Principal, reason: str, request_id: str | None = None) -> dict[str, Any]:
        """Store the files as a release with the report of its checks, submitted for approval."""
        _require(who, SUBMITTERS, "submit a release")
        reason = _reason(reason)
        report, ok = self.check(files)
        release = self._store(files, report, ok, who, bootstrap=False)
        self._event(release.id, "submitted", who, reason)
        self.audit.record(who, "release.submit", [], {"release": release.id, "ok": ok}, request_id)
        return self.get(release.id)

    def approve(self, ref: str, who: Principal, reason: str, request_id: str | None = None) -> dict[str, Any]:
        """Approve a submitted release whose checks passed; never the submitter's own."""
        _require(who, APPROVERS, "approve a release")
        release, state, submitter = self._state(ref)
        if state != "submitted":
            raise Conflict(f"release {release.id} is {state}; only a submitted release can be approved",
                           code="release_not_submitted")
        if not release.report_ok:
            raise Conflict(f"release {release.id} failed its checks (see its report); it cannot be approved",
                           code="release_failed_checks", details=release.report)
        if submitter == who.name:
            raise Forbidden("maker-checker: the approver must be another person than the submitter "
                            f"({submitter})", code="own_release")
        integrity.refuse_altered_release(release, self.personal)  # approve what was submitted, only
        # The stored report and its flag are not under the release's MAC (the files are): the
        # checks are run again on the files being approved, so a failed release marked passed in
        # the database is not approved on the flag's word.
        report, ok = self.check(ReleaseFiles(dict(release.files), dict(release.test_files)))
        if not ok:
            raise Conflict(f"release {release.id} fails its checks when run again at approval (see the "
                           "report); it cannot be approved", code="release_failed_checks", details=report)
        self._event(release.id, "approved", who, _reason(reason))
        self.audit.record(who, "release.approve", [], {"release": release.id}, request_id)
        return self.get(release.id)

    def reject(self, ref: str, who: Principal, reason: str, request_id: str | None = None) -> dict[str, Any]:
        _require(who, APPROVERS, "reject a release")
        release, state, _ = self._state(ref)
        if state != "submitted":
            raise Conflict(f"release {release.id} is {state}; only a submitted release can be rejected",
                           code="release_not_submitted")
        self._event(release.id, "rejected", who, _reason(reason))
        self.audit.record(who, "release.reject", [], {"release": release.id}, request_id)
        return self.get(release.id)

    def activate(self, ref: str, who: Principal, reason: str, request_id: str | None = None) -> dict[str, Any]:
        """Make an approved (or retired) release the one every worker serves."""
        _require(who, OPERATORS, "activate a release")
        release, state, _ = self._state(ref)
        if state not in ("approved", "retired"):
            raise Conflict(f"release {release.id} is {state}; only an approved release can be activated",
                           code="release_not_approved")
        integrity.refuse_altered_release(release, self.personal)
        self._event(release.id, "activated", who, _reason(reason))
        self.audit.record(who, "release.activate", [], {"release": release.id}, request_id)
        return self.get(release.id)

    def rollback(self, who: Principal, reason: str, request_id: str | None = None) -> dict[str, Any]:
        """Activate again the release that was active before the current one."""
        _require(who, OPERATORS, "roll back a release")
        with self.database.session() as session:
            history = self._activations(session)
        if not history:
            raise Conflict("no release was ever activated", code="nothing_to_roll_back")
        current = history[0].release_id
        previous = next((e.release_id for e in history if e.release_id != current), None)
        if previous is None:
            raise Conflict(f"release {current} is the only one ever activated", code="nothing_to_roll_back")
        integrity.refuse_altered_release(self._find(previous), self.personal)
        self._event(previous, "rolled_back", who, _reason(reason))
        self.audit.record(who, "release.rollback", [], {"release": previous, "from": current}, request_id)
        return self.get(previous)

    def bootstrap(self, root: str | Path, files: ReleaseFiles | None = None) -> str:
        """Development only: import the policy folder (its files as already read, if given) as an
        approved, active release (a new one when its content changed); returns its id."""
        if self.production:
            raise Forbidden("FIREFLY_ENV=production serves governed releases only; submit the folder with "
                            "`flask policy submit`", code="bootstrap_refused")
        files = files or ReleaseFiles.from_folder(root)
        with self.database.session() as session:
            release = store.by_content_hash(session, files.content_hash)
            if release is not None and release.row_mac is None:  # imported before releases had MACs:
                # its content is the folder's, which development serves anyway
                release.row_mac = integrity.release_mac(self.personal, release.id, release.content_hash)
                session.commit()
        if release is None:
            report, ok = self.check(files, run_tests=False)
            report["bootstrap"] = f"imported from the folder {root} (development)"
            release = self._store(files, report, ok, BOOTSTRAP, bootstrap=True)
            for action in ("submitted", "approved"):
                self._event(release.id, action, BOOTSTRAP, "development bootstrap of the policy folder")
        if self.active_id() != release.id:
            self._event(release.id, "activated", BOOTSTRAP, "development bootstrap of the policy folder")
        return release.id

    # -- reading -----------------------------------------------------------------------------
    def active(self) -> Release | None:
        with self.database.session() as session:
            newest = self._newest_activation(session)
            return store.by_id(session, newest.release_id) if newest else None

    def active_id(self, strict: bool = True) -> str | None:
        """The release of the newest genuine activation or rollback (every worker asks each poll);
        `strict=False`: as the events stored say, even on an incomplete history (to show it)."""
        with self.database.session() as session:
            newest = self._newest_activation(session, strict)
            return newest.release_id if newest else None

    def folder_allowed(self) -> bool:
        """Whether the folder may still be served (imported as a bootstrap release): development,
        and no governed release was ever activated."""
        if self.production:
            return False
        with self.database.session() as session:
            activated = {e.release_id for e in self._activations(session, strict=False)}
            return all(store.by_id(session, rid).bootstrap for rid in activated)

    def list(self) -> list[dict[str, Any]]:
        with self.database.session() as session:
            rows = store.all_releases(session)
            events = self._genuine(store.events(session))
        active = self.active_id(strict=False)  # listed even on an incomplete history, to look into it
        return [_summary(r, _state_of(r.id, events, active)) for r in rows]

    def get(self, ref: str) -> dict[str, Any]:
        release, state, _ = self._state(ref, strict=False)
        with self.database.session() as session:
            events = store.events(session, release.id)
        body = _summary(release, state)
        body["report"] = release.report
        body["events"] = [{"action": e.action, "actor": e.actor, "role": e.role, "reason": e.reason,
                           "at": iso_utc(e.created_at)} for e in events]
        return body

    def files_of(self, ref: str) -> dict[str, str]:
        """The policy files of a release (by id or content hash prefix), as the engine loads them:
        what a simulation or backtest tries as a candidate. A release whose files are not the ones
        stored as approved is refused (`record_altered`: app/services/integrity.py)."""
        return dict(integrity.refuse_altered_release(self._find(ref), self.personal).files)

    def files(self, ref: str) -> dict[str, str]:
        """The files of a release by path, its rule tests included (the console shows them);
        refused as files_of refuses."""
        release = integrity.refuse_altered_release(self._find(ref), self.personal)
        return {**release.files, **release.test_files}

    def problem(self, release: Release) -> str | None:
        """Why a stored release is not the one submitted (None: it is): integrity.release_problem."""
        return integrity.release_problem(release, self.personal)

    def diff(self, ref: str, against: str | None = None) -> dict[str, Any]:
        """Files and rule ids added, removed and changed from `against` (default: the active
        release) to `ref`."""
        new = integrity.refuse_altered_release(self._find(ref), self.personal)
        old_id = against or self.active_id()
        if old_id is None:
            raise Conflict("no active release to compare with; name one", code="nothing_to_compare")
        old = integrity.refuse_altered_release(self._find(old_id), self.personal)
        old_files, new_files = {**old.files, **old.test_files}, {**new.files, **new.test_files}
        old_rules, new_rules = _rule_ids(old.files), _rule_ids(new.files)
        return {"from": old.id, "to": new.id,
                "files": _changes(old_files, new_files), "rules": _changes(old_rules, new_rules)}

    # -- checks ------------------------------------------------------------------------------
    def check(self, files: ReleaseFiles, run_tests: bool = True) -> tuple[dict[str, Any], bool]:
        """Validate the policies and run their rule tests: the report and whether it passed."""
        loaded = compiling.load_files(files.files, self.engine, origin="release")
        diagnostics = [d.to_dict() for d in loaded.diagnostics]
        report: dict[str, Any] = {"diagnostics": diagnostics,
                                  "policies": {name: {"version": str(p.version), "hash": p.hash}
                                               for name, p in loaded.policies.items()}}
        ok = loaded.ok and bool(loaded.policies)
        if ok and run_tests:
            cases, problems = load_cases(files.test_files)
            results = run_policy_tests(loaded.policies, cases)
            failures = [{"case": r.case.id, "policy": r.case.policy, "backend": r.backend,
                         "differences": list(r.differences)} for r in results if not r.passed]
            failures += [{"case": None, **p.to_dict()} for p in problems if p.severity == "error"]
            report["tests"] = {"cases": len(results), "failed": failures}
            ok = not failures
            if self.verify_backends:
                report["backends"] = _backend_report(loaded.policies, cases)
                ok = ok and not report["backends"]["disagreements"]
        report["ok"] = ok
        return json.loads(json.dumps(report, default=str)), ok

    # -- storage -----------------------------------------------------------------------------
    def _store(self, files: ReleaseFiles, report: dict[str, Any], ok: bool, who: Principal,
               bootstrap: bool) -> Release:
        now = self.clock()
        release = Release(id=_new_id(now), content_hash=files.content_hash, files=files.files,
                          test_files=files.test_files, report=report, report_ok=ok, bootstrap=bootstrap,
                          created_at=now, created_by=who.name)
        release.row_mac = integrity.release_mac(self.personal, release.id, release.content_hash)
        with self.database.session() as session:
            if not store.add(session, release):
                existing = store.by_content_hash(session, files.content_hash)
                if bootstrap and existing is not None:
                    return existing  # another worker imported the same folder first
                raise Conflict(f"release {existing.id if existing else '?'} has exactly these files",
                               code="release_exists")
        return release

    def _event(self, release_id: str, action: str, who: Principal, reason: str) -> None:
        now = self.clock()
        event = ReleaseEvent(id=_new_id(now), release_id=release_id, action=action, actor=who.name,
                             role=who.role, reason=reason, created_at=now)
        event.content_hash = chain.release_event_content_hash(event)
        event.row_mac = self.personal.mac(chain.mac_text("releases", event.id, event.content_hash))
        with self.database.session() as session:
            store.append_event(session, event)

    def _find(self, ref: str) -> Release:
        with self.database.session() as session:
            # A ref with control characters (a NUL byte) matches nothing and never reaches the database.
            found = store.by_prefix(session, ref) if len(ref) >= 6 and ref.isprintable() else []
        if not found:
            raise NotFound(f"no release {ref!r} (give its id or content hash, 6 characters or more)",
                           code="unknown_release")
        if len(found) > 1:
            raise Conflict("several releases match; give more characters", code="ambiguous_release",
                           details=[r.id for r in found])
        return found[0]

    def _newest_activation(self, session: Any, strict: bool = True) -> ReleaseEvent | None:
        """The newest genuine activation or rollback. Every worker asks on each poll, so the
        history is read newest first a page at a time, and only as far as the first genuine
        event: the work is bounded by the forged events above it, not by the release history.
        `strict`: as `_activations`."""
        if strict:
            self._refuse_incomplete(session)
        below = None
        while True:
            page = store.activations(session, limit=_PAGE, below=below)
            genuine = self._genuine(page)
            if genuine:
                return genuine[0]
            if len(page) < _PAGE:
                return None
            below = page[-1].seq

    def _refuse_incomplete(self, session: Any) -> None:
        """Conflict (`record_altered`) if an event the chained log sealed is gone, for then the
        newest activation may be the one deleted (every worker would switch back to the release
        before, unrecorded) or a rejection (a rejected release approvable again)."""
        missing = store.sealed_but_missing(session)
        if missing:
            metrics.observe_tampering("release_event")
            log.critical("sealed release events are no longer stored; the releases' history is "
                         "incomplete", extra={"event": "release_event_deleted", "release_events": missing[:20]})
            raise Conflict(f"{len(missing)} release event(s) sealed in the chained log are no longer stored "
                           f"(deleted in the database: {', '.join(missing[:5])}); nothing is served, approved, "
                           "activated or rolled back on an incomplete history (flask audit verify)",
                           code="record_altered")

    def _activations(self, session: Any, strict: bool = True) -> list[ReleaseEvent]:
        """Activations and rollbacks, newest first, that this service made (genuine). `strict`:
        refused on an incomplete history (`_refuse_incomplete`)."""
        if strict:
            self._refuse_incomplete(session)
        return self._genuine(store.activations(session))

    def _genuine(self, events: list[ReleaseEvent]) -> list[ReleaseEvent]:
        """The events whose MAC is theirs: an event inserted or edited in the database (an
        "approved" by someone who never approved, an activation nobody made) grants nothing;
        it is logged, and `flask audit verify` names it."""
        genuine = []
        for event in events:
            text = chain.mac_text("releases", event.id, chain.release_event_content_hash(event))
            if self.personal.mac_matches(event.row_mac, text):
                genuine.append(event)
            else:
                metrics.observe_tampering("release_event")
                log.critical("a release event is not one this service made; it is ignored", extra={
                    "event": "release_event_forged", "release_event": event.id, "release": event.release_id,
                    "action": event.action})
        return genuine

    def _state(self, ref: str, strict: bool = True) -> tuple[Release, str, str | None]:
        """The release, its state and who submitted it (`strict`: as active_id)."""
        release = self._find(ref)
        with self.database.session() as session:
            events = self._genuine(store.events(session, release.id))
        submitter = next((e.actor for e in events if e.action == "submitted"), None)
        return release, _state_of(release.id, events, self.active_id(strict)), submitter


def _backend_report(policies: dict[str, Any], cases: list[Any]) -> dict[str, Any]:
    """Both engine backends on every rule-test case: where they disagree (durable verification)."""
    checked, disagreements = 0, []
    for case in cases:
        policy = policies.get(case.policy)
        if policy is None:
            continue
        try:
            typed = policy.parse_input(case.input)
        except InputError:
            continue  # an invalid case input is the rule tests' to report
        checked += 1
        disagreements += [{"case": case.id, "detail": line} for line in backend_disagreements(policy, typed)]
    return {"checked": checked, "disagreements": disagreements}


def _state_of(release_id: str, events: Iterable[ReleaseEvent], active_id: str | None) -> str:
    actions = [e.action for e in events if e.release_id == release_id]
    if release_id == active_id:
        return "active"
    if any(a in ("activated", "rolled_back") for a in actions):
        return "retired"
    for state in ("rejected", "approved", "submitted"):
        if state in actions:
            return state
    return "draft"


def _summary(release: Release, state: str) -> dict[str, Any]:
    return {"id": release.id, "content_hash": release.content_hash, "state": state,
            "bootstrap": release.bootstrap, "created_at": iso_utc(release.created_at),
            "created_by": release.created_by, "checks_passed": release.report_ok,
            "policies": (release.report or {}).get("policies", {})}


def _require(who: Principal, roles: tuple[str, ...], what: str) -> None:
    if who.role not in roles:
        raise Forbidden(f"role {who.role!r} may not {what}; needs {' or '.join(roles)}", code="forbidden")


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"give a reason (1 to {MAX_REASON} characters)", code="reason_required",
                           details={"reason": ["a reason is required"]})
    return reason


def _new_id(now: datetime.datetime) -> str:
    return f"{int(now.timestamp() * 1000):012x}{os.urandom(10).hex()}"


def _rule_ids(files: dict[str, str]) -> dict[str, str]:
    """{id: canonical text} of every item with an `id` in the rule and policy files (rules, table
    rows, scorecard bins)."""
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str):
                found[node["id"]] = json.dumps(node, sort_keys=True, ensure_ascii=False, default=str)
            for value in node.values():
                walk(value, path)
        elif isinstance(node, list):
            for value in node:
                walk(value, path)
    for path, text in sorted(files.items()):
        # Read as the engine reads (never yaml.safe_load): a release that failed its checks is
        # stored and diffed too, and its files may hold an alias bomb, nesting past the stack or
        # an impossible date; the engine's reader refuses those bounded, without expanding them.
        node, _ = parse_yaml(text, path)
        if node is None:
            continue  # the report names the broken file; the diff shows it changed
        try:
            walk(node.plain(), path)
        except RecursionError:
            continue
    return found


def _changes(old: dict[str, str], new: dict[str, str]) -> dict[str, list[str]]:
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "changed": sorted(k for k in set(old) & set(new) if old[k] != new[k])}
