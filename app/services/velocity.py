"""Velocity, links and lists: the shared-state values a policy declares (`shared:` and `in_list`),
computed by the service from its own records and handed to the engine, which stays pure.

When the current application counts (docs/anti_fraud.md): it is recorded **before** it is decided,
in the same atomic step that counts, so every count includes it (the third application from a
device in 24 hours reads 3), whatever the outcome: a declined or referred one still counts. An
application rejected by the input schema never reaches this step and does not count; a retry with
the same Idempotency-Key records the same event again (counted once); a decision that could not be
stored was still an attempt and stays counted. "Last seen" facts (days since a DECLINE) and fraud
links are recorded **after** the decision is stored, so only stored decisions mark an applicant.

Keys are keyed hashes of the values (HMAC under FIREFLY_HMAC_KEY, app/privacy.py), namespaced by
what is counted, not by policy: another policy that declares `count: applications per
device.device_id` reads and adds to the same counter.

Rotating the key must not start the counters afresh: a fraud ring that knew the day would apply
unseen. So while the current key is younger (since it first wrote, `SharedState.first_used`) than
what a fact is kept for (31 days for counts and links, 366 for last-seen facts), every fact is also
written under each old key of FIREFLY_HMAC_OLD_KEYS, and read under all of them:
- a count is the largest of the keys' counts. Each key's set holds a part of the true events (or
  of the true distinct values) and the old key, written all along, holds all of them: the largest
  is the exact count, and never more than it.
- last-seen facts and links are the union of the keys' members (decision ids, the same under any
  key), each at its latest time.
Once the current key is older than the retention, its own sets hold everything and the old keys
are neither written nor read.
"""
from __future__ import annotations

import datetime
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sqlalchemy.exc import SQLAlchemyError

from app.engine import Decision, Policy
from app.engine.model import SharedValue
from app.engine.read.shared import MAX_DAYS_SINCE_SECONDS, MAX_WINDOW_SECONDS
from app.privacy import PersonalData, counted_as
from app.services.access import Principal
from app.services.access_audit import AccessAudit
from app.services.clock import utc_now
from app.services.errors import Forbidden, InvalidInput, Unavailable
from app.services.lists import Lists, entry_kinds
from app.state.shared import Entry, SharedState
from app.storage import decisions, owed_marks
from app.storage.db import Database

log = logging.getLogger("firefly.velocity")

# Decisions made within this long before the store's memory began were in flight when it began
# (their events are in it, or lost with a few seconds' traffic): not a reason to call it incomplete.
MEMORY_GRACE_SECONDS = 60

# A stored decision's marks that the store could not take (Redis down between the look-up and
# the marks) are owed in the database (velocity_owed_marks): any worker writes them from the stored
# row, at most every OWED_CHECK_SECONDS (at once in the worker that owed them), OWED_BATCH decisions
# a look-up (the next look-up goes on while more are owed).
OWED_CHECK_SECONDS = 1.0
OWED_BATCH = 100

UNAVAILABLE = "unavailable"   # the store could not answer: the value is missing
INCOMPLETE = "incomplete"     # the store's memory began after decisions its window covers: missing
NO_KEY = "key missing"        # the application has no value in the key field
DATABASE = "database"         # lists
STORED = "stored"             # replay and backtest: the value the decision used at the time


@dataclass(frozen=True)
class SharedInput:
    """The shared values handed to the engine, by name, and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_trace(cls, trace: Mapping[str, Any] | None) -> "SharedInput":
        """The values a stored decision used, from its trace (replay never reads counters)."""
        entries = (trace or {}).get("shared") or []
        return cls({e["name"]: e["value"] for e in entries},
                   {e["name"]: e["source"] for e in entries})


def path_value(typed: Mapping[str, Any], path: str) -> Any:
    """A dotted path's value in a typed (nested) input."""
    node: Any = typed
    for part in path.split("."):
        if node.__class__ is not dict and not isinstance(node, Mapping):  # a dict: no ABC check
            return None
        node = node.get(part)
    return node


class Velocity:
    def __init__(self, shared: SharedState, lists: Lists, personal: PersonalData,
                 database: Database | None = None, audit: AccessAudit | None = None,
                 owed_check_seconds: float = OWED_CHECK_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.shared = shared
        self.lists = lists
        self.personal = personal
        self.database = database  # the stored decisions: what an emptied store has forgotten
        self.audit = audit
        self._gap: tuple[float, float | None] | None = None  # (memory since, latest decision before it)
        self.incomplete: str | None = None  # what the last look-up found missing, for /readyz
        self._hashers = [hasher for _, hasher in personal.hashers()]  # the current key's first
        self._current_kid = personal.key_id
        self._first_used: float | None = None  # when the current key first wrote (asked once)
        # Writing the marks owed (`_pay_owed`): `pay_owed(now, limit)` writes up to `limit` owed
        # decisions' marks from their stored rows and says how many it settled (None: the store
        # refused); set by build to the rebuild's (app/services/velocity_rebuild.py), one way.
        self.pay_owed: Callable[[float, int], int | None] | None = None
        # Writing a reviewed referral's marks (`remember_review`): `write_review(decision id, now)`
        # writes them from its stored row; False when the store refused. Set by build, as pay_owed.
        self.write_review: Callable[[str, float], bool] | None = None
        self.owed_check_seconds = owed_check_seconds
        self.monotonic = monotonic
        self._owed_next = 0.0  # when (monotonic) to look for owed marks next: at the first look-up
        self._owed_lock = threading.Lock()

    def _keys_for(self, at: float, retention: int) -> int:
        """How many keys a fact kept `retention` seconds is written and read under: the current
        key alone once it is older than the retention, else every configured key (the module's
        docstring says why)."""
        if len(self._hashers) == 1:
            return 1
        if self._first_used is None:
            self._first_used = self.shared.first_used(self._current_kid, at)
        if self._first_used is not None and at - self._first_used >= retention:
            return 1
        return len(self._hashers)  # also when the store cannot say: the step will tell

    def old_keys_needed_until(self, now: datetime.datetime) -> dict[str, datetime.datetime] | None:
        """Until when the old keys are written and read (`flask audit keys`): {what: until}; {}
        with one key configured; None when the store cannot say (unavailable, or the current key
        has not written yet: then from its first decision on)."""
        if len(self._hashers) == 1:
            return {}
        first = self.shared.first_used(self._current_kid, now.timestamp(), mark=False)
        if first is None:
            return None
        since = datetime.datetime.fromtimestamp(first, datetime.timezone.utc)
        return {"counts and links": since + datetime.timedelta(seconds=MAX_WINDOW_SECONDS),
                "last-seen facts": since + datetime.timedelta(seconds=MAX_DAYS_SINCE_SECONDS)}

    def _hash(self, value: Any, memo: dict[str, list[str]], keys: int) -> list[str] | None:
        """The keys of a value: the keyed hash of what it counts as (privacy.counted_as) under each
        of the first `keys` keys, shortened
        (`memo`: the hashes already made for this application, as several shared values read
        the same field)."""
        if not isinstance(value, str) or not value.strip():
            return None
        if value not in memo:
            counted = counted_as(value)  # an IPv6 address by its /64 network
            memo[value] = [hasher(counted)[:32] for hasher in self._hashers[:keys]]
        return memo[value]

    # --- before the decision -------------------------------------------------------------------
    def lookup(self, policy: Policy, typed: Mapping[str, Any], event_id: str,
               now: datetime.datetime) -> SharedInput:
        """Every shared value the policy declares, for this application at `now`; the
        application's own events recorded in the same step (it counts itself). `event_id`: the
        application's member in the count sets (the scoped Idempotency-Key, else the decision's
        id), so that a rebuild from the stored decision writes the same one."""
        declared = policy.parts.shared
        if not declared:
            return SharedInput()
        at = now.timestamp()
        # under how many keys (1 but for a while after a rotation): counts and links, last seen
        plan = self.plan(policy, typed, event_id, self._keys_for(at, MAX_WINDOW_SECONDS),
                         self._keys_for(at, MAX_DAYS_SINCE_SECONDS))
        values, sources = plan.values, plan.sources
        self._record_and_read(plan.entries, plan.reads, at, values, sources)
        if plan.lists:
            self._lists(plan.lists, now, values, sources)
        return SharedInput(values, sources)

    def plan(self, policy: Policy, typed: Mapping[str, Any], event_id: str, window_keys: int,
             year_keys: int) -> "Plan":
        """What a look-up records (the application's events and distinct members, under the
        first `window_keys` keys) and reads (last-seen facts, links, lists): the one place that
        names them, for the live look-up and the rebuild alike."""
        plan = Plan()
        memo: dict[str, list[str]] = {}
        kinds = policy.pii_fields()
        for d in policy.parts.shared:
            # (the key field, its hashes) per key field that has a value. A key names the field
            # it is kept per, so that a device id typed as someone's phone number never lands in
            # that phone's counts, nor a contact phone in the applicant's: counts, distinct counts
            # and last-seen facts by the field's path, links by the kind of personal data (a
            # contact phone links to a fraud-declined applicant's own phone, both being phones)
            keys = [(p, h) for p in d.keys if (h := self._hash(path_value(typed, p), memo, year_keys))]
            if not keys:
                plan.values[d.name], plan.sources[d.name] = None, NO_KEY
                continue
            per, hashes = keys[0]
            if d.kind == "list":
                plan.lists[d.name] = (d.subject, path_value(typed, d.keys[0]),
                                      (d.entry_kind,) if d.entry_kind else entry_kinds(kinds.get(d.keys[0])))
            elif d.kind == "count":
                plan.entries += [(d.name, Entry(f"ev:{d.subject}:{per}:{key}", event_id, d.window_seconds,
                                                MAX_WINDOW_SECONDS)) for key in hashes[:window_keys]]
            elif d.kind == "distinct":
                counted = self._hash(path_value(typed, d.subject), memo, year_keys)
                if counted is None:
                    plan.values[d.name], plan.sources[d.name] = None, NO_KEY
                    continue
                ns = kinds.get(d.subject, d.subject)
                plan.entries += [(d.name, Entry(f"dv:{ns}:{per}:{key}", member, d.window_seconds,
                                                MAX_WINDOW_SECONDS))
                                 for key, member in zip(hashes[:window_keys], counted)]
            elif d.kind == "days_since":
                plan.reads.append((d, [f"out:{d.subject}:{per}:{key}" for key in hashes[:year_keys]]))
            else:  # linked_count, linked_days_since
                plan.reads.append((d, [f"fraud:{kinds.get(path, path)}:{key}"
                                       for path, each in keys for key in each[:window_keys]]))
        return plan

    def _record_and_read(self, entries, reads, at, values, sources) -> None:
        """The application's events recorded and counted, and the last-seen facts and links read,
        in one step of the shared state (one round trip to Redis)."""
        if not entries and not reads:
            return
        if self.pay_owed is not None and self.monotonic() >= self._owed_next:
            self._pay_owed(at)  # marks the store missed first: this application may be the one declined
        done = self.shared.record_and_read(at, [entry for _, entry in entries],
                                           [(keys, at - d.window_seconds) for d, keys in reads])
        counts, found, since = (None, None, None) if done is None else done
        # a window reaching back before the store's memory began, over stored decisions, is not
        # known: missing, as when the store is down (the policy says what that means)
        gap = self._forgotten(since)
        incomplete = []
        for position, (name, entry) in enumerate(entries):
            if counts is None:
                values[name], sources[name] = None, UNAVAILABLE
                continue
            if gap is not None and entry.window is not None and gap > at - entry.window:
                values[name], sources[name] = None, INCOMPLETE
                incomplete.append(name)
                continue
            if sources.get(name) == INCOMPLETE:
                continue
            # under several keys after a rotation: the largest count is the exact one
            count = counts[position]
            values[name] = count if name not in values else max(values[name], count)
            sources[name] = self.shared.kind
        for position, (d, _) in enumerate(reads):
            if found is None:
                values[d.name], sources[d.name] = None, UNAVAILABLE
                continue
            members = found[position]
            # days since the latest mark is exact once the store holds a mark: the marks it has
            # forgotten are all older than those it holds. Only "none in the window" is unknown.
            # (Else a declined applicant whose cooling-off outlasts the memory's age would read
            # no decline at all, and be approved within their cooling-off.)
            known = d.kind != "linked_count" and bool(members)
            if gap is not None and gap > at - d.window_seconds and not known:
                values[d.name], sources[d.name] = None, INCOMPLETE
                incomplete.append(d.name)
                continue
            sources[d.name] = self.shared.kind
            if d.kind == "linked_count":
                values[d.name] = len(members)
            else:  # days since the latest: missing when there is none in the window; a mark
                # made by a decision that took its moment after this one (concurrent requests)
                # is of today: 0, never a negative count of days
                values[d.name] = (max(0, math.floor((at - max(members.values())) / 86400))
                                  if members else None)
        if done is not None:
            self.incomplete = None if not incomplete else _incomplete_text(since, gap)

    def _forgotten(self, since: float | None) -> float | None:
        """When the latest decision was stored that the store's memory, begun at `since`, cannot
        hold (one before it, bar those in flight when it began); None when none (or not known:
        an in-process store, which says at start-up that a restart forgets)."""
        if since is None or self.database is None:
            return None
        if self._gap is not None and self._gap[0] == since:
            return self._gap[1]
        moment = datetime.datetime.fromtimestamp(since - MEMORY_GRACE_SECONDS, datetime.timezone.utc)
        with self.database.session() as session:
            latest = decisions.latest_before(session, moment)
        gap = None if latest is None else latest.timestamp()
        self._gap = (since, gap)
        if gap is not None:
            log.error("the shared anti-fraud memory began after stored decisions: values whose window "
                      "reaches back before it are missing", extra={
                          "event": "shared_memory_incomplete", "since": _iso(since), "latest_before": _iso(gap)})
        return gap

    def accept_loss(self, who: Principal, reason: str) -> float | None:
        """An operator's decision that the store's memory counts as whole (`flask velocity
        accept-loss`, an admin key): values are computed from what it holds again, in every
        worker at its next look-up. Recorded in the access log first (not done if it cannot be).
        Returns when the store said its memory began, None if it did not say."""
        if who.role != "admin":
            raise Forbidden("accepting the loss of the anti-fraud memory needs an admin key")
        if not reason.strip():
            raise InvalidInput("say why the loss is accepted (--reason)")
        if self.audit is None:
            raise Unavailable("no access log to record the acceptance in")
        self.audit.record(who, "velocity.accept_loss", [], {"reason": reason})
        before = self.shared.accept_loss()
        self.forget_gap()
        return before

    def forget_gap(self) -> None:
        """The store's memory was declared whole (a loss accepted, a rebuild): this worker asks
        again at its next look-up (/readyz recovers now)."""
        self._gap = None
        self.incomplete = None

    def _lists(self, lookups, now, values, sources) -> None:
        found = self.lists.matches(lookups, now)
        for name in lookups:
            values[name], sources[name] = found[name], DATABASE

    # --- after the decision is stored ----------------------------------------------------------
    def remember(self, policy: Policy, typed: Mapping[str, Any], decision: Decision,
                 decision_id: str, now: datetime.datetime) -> None:
        """Mark the keys of a stored decision: its outcome (for days_since) and, for a DECLINE
        with a fraud reason, the link keys. Marks a store that is down cannot take are owed in the
        database (`_owe`) and written from the stored row by the next look-up of any worker that
        reaches the store: else a declined applicant could apply again at once, unseen by the
        cooling-off."""
        at = now.timestamp()
        unique = self.marks(policy, typed, decision.outcome, decision.reason_codes, decision_id,
                            self._keys_for(at, MAX_WINDOW_SECONDS), self._keys_for(at, MAX_DAYS_SINCE_SECONDS))
        refused = bool(unique) and self.shared.record(at, unique) is None
        # The look-up could not count this application (the store was down): its events are owed
        # too, whatever its outcome. Else a ring's applications sent during an outage (referred
        # VELOCITY_UNAVAILABLE, no marks) were never counted, and its next burst after the store
        # came back read from 1. The owed row is written from the stored decision, events and marks.
        uncounted = UNAVAILABLE in decision.trace.sources.values()
        if refused or uncounted:
            self._owe(decision_id, now, "marks" if refused else "events")

    def remember_review(self, decision_id: str, now: datetime.datetime) -> None:
        """Mark the keys of a referral an underwriter has just closed with a DECLINE (stored in
        the reviews log): that DECLINE, with the review's reasons, at `now`, as `remember` marks an
        automatic one. Before, only the automatic outcome marked the memory: an applicant declined
        on review (an impostor found out by the underwriter's call) applied again at once, unseen
        by the cooling-off, and the application's device and phones were linked to no fraud
        decline. Written from the stored rows (the decision's and its review's); owed as any
        marks when the store refuses."""
        if self.write_review is None:
            return
        try:
            written = self.write_review(decision_id, now.timestamp())
        except Exception as error:  # noqa: BLE001 - the database, a version: owed, written later
            log.warning("a reviewed decision's anti-fraud marks not written now; owed", extra={
                "event": "shared_marks_owed_retry", "error": type(error).__name__})
            written = False
        if not written:
            self._owe(decision_id, now)

    def _owe(self, decision_id: str, now: datetime.datetime, what: str = "marks") -> None:
        """Note in the database that a stored decision's marks are owed (its id and moment); if
        that fails too, say from when a rebuild must start (the decision is stored: `flask velocity
        rebuild --since` writes them)."""
        try:
            if self.database is None:
                raise Unavailable("no database to owe the marks in")
            with self.database.session() as session:
                owed_marks.note(session, decision_id, now, utc_now())
        except (SQLAlchemyError, Unavailable) as error:
            since = _iso(now.timestamp())
            log.error(f"a stored decision's anti-fraud marks were not recorded and could not be owed: "
                      f"once the shared state is back, run `flask velocity rebuild --since {since[:10]}`",
                      extra={"event": "shared_marks_lost", "decision_id": decision_id, "since": since,
                             "error": type(error).__name__})
            return
        log.error(f"a stored decision's anti-fraud {what} were not recorded: shared state unavailable; "
                  "owed, written by the next look-up that reaches it", extra={
                      "event": "shared_marks_owed", "decision_id": decision_id, "owed": what})
        self._owed_next = 0.0  # this worker looks at its next look-up, not a check interval later

    def _pay_owed(self, now: float) -> None:
        """Write the marks owed (by any worker) from their stored rows: at most every
        owed_check_seconds, one thread of the worker at a time (the others go on deciding), at most
        OWED_BATCH decisions a look-up. Never fails the look-up: a failure is retried later."""
        if not self._owed_lock.acquire(blocking=False):
            return
        try:
            if self.monotonic() < self._owed_next:
                return
            self._owed_next = self.monotonic() + self.owed_check_seconds
            pay = self.pay_owed
            if pay is None:
                return
            try:
                settled = pay(now, OWED_BATCH)
            except Exception as error:  # noqa: BLE001 - the database, a version: retried later
                log.warning("owed anti-fraud marks not written; retrying", extra={
                    "event": "shared_marks_owed_retry", "error": type(error).__name__})
                return
            if settled == OWED_BATCH:  # more may be owed: the next look-up goes on
                self._owed_next = 0.0
        finally:
            self._owed_lock.release()

    def owed(self) -> tuple[int, datetime.datetime | None] | None:
        """How many stored decisions' marks are owed and the earliest one's moment (/readyz);
        None without a database to ask."""
        if self.database is None:
            return None
        with self.database.session() as session:
            return owed_marks.summary(session)

    def marks(self, policy: Policy, typed: Mapping[str, Any], outcome: str, reason_codes: Any,
              decision_id: str, window_keys: int, year_keys: int) -> list[Entry]:
        """The marks of a stored decision (its outcome under each days_since key, its id under each
        link key of a fraud DECLINE): the one place that names them, for the live path and the
        rebuild alike."""
        codes = set(reason_codes)
        entries = []
        memo: dict[str, list[str]] = {}
        kinds = policy.pii_fields()
        for d in policy.parts.shared:
            if d.kind == "days_since" and outcome == d.subject:
                keys = self._hash(path_value(typed, d.keys[0]), memo, year_keys) or []
                entries += [Entry(f"out:{d.subject}:{d.keys[0]}:{key}", decision_id, None, MAX_DAYS_SINCE_SECONDS)
                            for key in keys]
            elif d.kind.startswith("linked_") and outcome == "DECLINE" and codes & set(d.reasons):
                for path in d.keys:
                    ns = kinds.get(path, path)
                    keys = self._hash(path_value(typed, path), memo, year_keys) or []
                    entries += [Entry(f"fraud:{ns}:{key}", decision_id, None, MAX_WINDOW_SECONDS)
                                for key in keys[:window_keys]]
        return list({(e.key, e.member): e for e in entries}.values())


@dataclass
class Plan:
    """What one application's look-up records and reads (Velocity.plan)."""

    values: dict[str, Any] = field(default_factory=dict)   # known before any read: key missing
    sources: dict[str, str] = field(default_factory=dict)
    entries: list[tuple[str, Entry]] = field(default_factory=list)   # (name, event or member)
    reads: list[tuple[SharedValue, list[str]]] = field(default_factory=list)
    lists: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)  # (list, value, entry kinds)


def _iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat(timespec="seconds")


def _incomplete_text(since: float | None, gap: float | None) -> str:
    return (f"incomplete: the shared memory began {_iso(since or 0)}, after decisions stored up to "
            f"{_iso(gap or 0)}; values whose window reaches back before it are missing "
            f"(`flask velocity rebuild`, or `flask velocity accept-loss` once the loss is accepted)")

