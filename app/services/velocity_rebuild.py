"""Rebuilding the anti-fraud memory from stored decisions (`flask velocity rebuild`).

A Redis emptied (a restart without persistence, a flush, an eviction) has forgotten the counts,
distinct counts, last-seen facts and fraud links that the next applications read; values whose
window reaches back before its memory began are missing (source `incomplete`) until the memory is
whole again (app/services/velocity.py). Accepting the loss forgets a fraud ring's burst and a
declined applicant's cooling-off; this use case puts them back instead.

It reads the decisions stored since T0 (366 days back, the longest retention, or a later moment
asked for), oldest first, a page at a time, and records for each one every fact the live path
recorded for it, at the decision's own moment:
- the application's events and distinct members, as `Velocity.lookup` records them (recording
  only: nothing is read or counted), with the policy version that made the decision (its own
  declarations, from the policy store, as replay does) and its stored input, personal data
  unsealed;
- the after-decision marks, as `Velocity.remember` makes them: the outcome for `days_since`, the
  decision's id under the link keys of a fraud DECLINE;
- for a REFER that an underwriter closed with a DECLINE (app/services/reviews.py), the marks of
  that DECLINE with the review's reasons, at the review's moment, as `Velocity.remember_review`
  has them written.
Then it reads, a page at a time too, the reviews made since T0 that closed a decision made before
it (a referral of last week declined yesterday, rebuilt `--since` yesterday: that decision is not
among those read) and writes a DECLINE's marks as `write_review` does (the decision's row and the
review checked; an approval writes nothing).
The members are the ones the live path writes (the application's event is its scoped
Idempotency-Key, else the decision's id; distinct members are keyed hashes; marks are decision
ids), and a member keeps its latest moment, so a rebuild over facts already held (decisions made
after the flush, a rebuild run twice) counts nothing twice. A fact the live store would have
dropped by now (older than its retention) is not written.

Hashing keys: while old keys (FIREFLY_HMAC_OLD_KEYS) may still be read (the current key is younger
than the retention, or the store does not know since when it writes: a flush forgets it too), every
fact is written under every configured key; each key's sets then hold every fact, so the largest
count and the union read by the live path are the exact ones under any key. Once the current key
is older than a kind of fact's retention, only the current key is read, and only it is written.

When every stored decision since T0 up to the rebuild's start has been replayed, the store's
memory counts as whole from T0 (`SharedState.rebuilt`): unless it began again during the rebuild
(emptied once more), which the rebuild reports instead of marking. A decision whose facts could
not be replayed (its personal data purged, sealed with a key no longer configured, its version
missing or no longer loading) leaves the memory whole only from just after it (a DECLINE on review
of an earlier decision: just after the review). Decisions stored
while the rebuild runs are recorded live.

Every row's MAC is checked before it is replayed (`records.intact`, as `flask audit verify` and
replay check it). A row that does not verify was altered in the database: it is not replayed, its
id is reported, and the memory is not marked whole from any moment (what it recorded live is not
known: a DECLINE made an APPROVE would drop a cooling-off). So for a decision whose policy version's
files were edited in the database (app/services/integrity.py): that version is never used. So for a
closing review read (whatever it now says): it marks nothing, its id is reported, and the memory
is not marked whole.
"""
from __future__ import annotations

import datetime
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from app import privacy
from app.engine import InputError, Policy
from app.engine.read.shared import MAX_DAYS_SINCE_SECONDS, MAX_WINDOW_SECONDS
from app.privacy import PersonalData
from app.services import compiling, records
from app.services.access import Principal
from app.services.access_audit import AccessAudit
from app.services.clock import Clock
from app.services.errors import Conflict, Forbidden, InvalidInput, Unavailable
from app.services.policy_store import PolicyStore
from app.services.velocity import MEMORY_GRACE_SECONDS, Velocity
from app.state.shared import Entry
from app.storage import decisions, owed_marks, reviews
from app.storage.db import Database

log = logging.getLogger("firefly.velocity")

PAGE = 500  # decisions read (and their facts written, in one step) at a time
RETENTION = datetime.timedelta(seconds=MAX_DAYS_SINCE_SECONDS)  # the longest a fact is kept

# Why a stored decision's facts could not be replayed
PURGED, KEY_MISSING, VERSION_MISSING, INPUT_UNFIT = (
    "personal data purged", "sealing key not configured", "policy version missing", "input does not fit")
# A row that is not what the service wrote (altered in the database: `flask audit verify` says
# how): never replayed, and the memory is not marked whole (Rebuilding.rebuild)
ALTERED = "row MAC does not verify"
# Its policy version's stored files no longer hash to the version's name (edited in the database:
# app/services/integrity.py): never used, so the decision is not replayed; as an altered row
VERSION_ALTERED = "policy version altered"


@dataclass
class Rebuilt:
    """What a rebuild did."""

    since: datetime.datetime        # T0: the decisions replayed were made from then on
    until: datetime.datetime        # the rebuild's start: later decisions were recorded live
    decisions: int = 0              # stored decisions read (each replayed, or skipped below)
    facts: int = 0                  # facts written (an event, a distinct member, a mark, per key)
    skipped: Counter = field(default_factory=Counter)  # why decisions could not be replayed
    whole_since: datetime.datetime | None = None  # the memory counts as whole from then (None: not)
    emptied_meanwhile: bool = False  # the store's memory began again during the rebuild
    altered: list[str] = field(default_factory=list)  # ids of the decisions whose row (its MAC does
    # not verify) or policy version (its files do not hash to its name) was altered: not replayed
    owed_paid: int = 0              # decisions whose owed marks (velocity_owed_marks) it wrote
    # Reviews made since T0 closing a decision made before it (that decision is not read above):
    reviews: int = 0                # read (each checked; an approval writes nothing)
    reviews_written: int = 0        # DECLINEs on review whose marks it wrote, as `write_review` does
    reviews_skipped: Counter = field(default_factory=Counter)  # why such a DECLINE's marks could not
    # be written (its decision's row: as `skipped`)
    reviews_altered: list[str] = field(default_factory=list)  # ids of the closing reviews (of any
    # decision read) whose MAC does not verify: they mark nothing, and the memory is not marked whole
    seconds: float = 0.0


class Rebuilding:
    def __init__(self, velocity: Velocity, database: Database, store: PolicyStore,
                 personal: PersonalData, audit: AccessAudit, clock: Clock, page: int = PAGE) -> None:
        self.velocity = velocity
        self.database = database
        self.store = store
        self.personal = personal
        self.audit = audit
        self.clock = clock
        self.page = page
        # by hash; None: not stored or not loading; VERSION_ALTERED: its files edited
        self._policies: dict[str, Policy | str | None] = {}

    def rebuild(self, who: Principal, reason: str, since: datetime.datetime | None = None,
                progress: Callable[[int, int, int], None] | None = None) -> Rebuilt:
        """Replay every stored decision since `since` (default and earliest: 366 days back) into
        the shared state and mark its memory whole from then. An admin key and a reason; recorded
        in the access log first (not done if it cannot be). `progress(done, total, facts)` is
        called after each page."""
        if who.role != "admin":
            raise Forbidden("rebuilding the anti-fraud memory needs an admin key")
        if not reason.strip():
            raise InvalidInput("say why the memory is rebuilt (--reason)")
        now = self.clock()
        earliest = now - RETENTION
        if since is not None:
            since = since if since.tzinfo else since.replace(tzinfo=datetime.timezone.utc)
            if since > now:
                raise InvalidInput("--since is in the future")
        start = earliest if since is None else max(since, earliest)
        self.audit.record(who, "velocity.rebuild", [], {"reason": reason, "since": start.isoformat()})
        started = time.perf_counter()
        shared = self.velocity.shared
        wall = now.timestamp()
        began = shared.memory_began(wall)  # marked now if the store holds nothing yet
        if began is None:
            raise Unavailable("the shared state (Redis) is unavailable: nothing rebuilt")
        window_keys = self._keys(wall, MAX_WINDOW_SECONDS)
        year_keys = self._keys(wall, MAX_DAYS_SINCE_SECONDS)
        with self.database.session() as session:
            first = decisions.earliest_since(session, start)
            total = decisions.count_between(session, start, now)
            owed = owed_marks.between(session, start, now)  # marks owed that this replay writes
        report = Rebuilt(since=start if first is None else max(start, first), until=now)
        last_skipped: float | None = None
        after = None
        while True:
            with self.database.session() as session:
                rows = decisions.page_for_rebuild(session, start, now, after, self.page)
                closed = reviews.closing(session, [row.id for row in rows if row.outcome == "REFER"])
            facts: list[tuple[float, Entry]] = []
            paid: list[str] = []  # owed marks of this page, written with its facts
            for row in rows:
                report.decisions += 1
                moment = _utc(row.created_at).timestamp()
                found = self._checked_facts(row, moment, wall, window_keys, year_keys, closed.get(row.id),
                                            report.reviews_altered)
                if isinstance(found, str):
                    report.skipped[found] += 1
                    if found in (ALTERED, VERSION_ALTERED):
                        report.altered.append(row.id)
                    last_skipped = moment
                    continue
                facts += [(at, entry) for at, entry in found if at > wall - entry.retention]
                if row.id in owed:
                    paid.append(row.id)
            if facts and shared.replay(wall, facts) is None:
                raise Unavailable(f"the shared state (Redis) became unavailable after {report.facts} facts "
                                  f"of {report.decisions} decisions: the memory is not marked whole; run "
                                  "the rebuild again (what was written counts once)")
            if paid:
                with self.database.session() as session:
                    report.owed_paid += owed_marks.paid(session, paid)
            report.facts += len(facts)
            if progress is not None and rows:
                progress(report.decisions, total, report.facts)
            if len(rows) < self.page:
                break
            after = (rows[-1].created_at, rows[-1].id)
        review_skipped = self._earlier_reviews(report, start, now, wall, window_keys, year_keys, owed)
        if review_skipped is not None:
            last_skipped = review_skipped if last_skipped is None else max(last_skipped, review_skipped)
        report.seconds = time.perf_counter() - started
        if report.altered or report.reviews_altered:
            # What an altered row recorded live is not known (a DECLINE made an APPROVE would drop
            # a cooling-off): the memory is not marked whole, from any moment. An emptied store
            # stays `incomplete` (values reaching back before it began are missing, the policy
            # says what that means) until the rows are accounted for (`flask audit verify`) and
            # the loss is accepted or the rebuild run again; a store that was whole stays as it was.
            log.error("anti-fraud memory rebuilt but not marked whole: stored decisions, their policy "
                      "versions or their reviews were altered in the database; run `flask audit verify`", extra={
                          "event": "shared_memory_rebuild_altered", "decision_ids": report.altered[:100],
                          "altered": len(report.altered), "review_ids": report.reviews_altered[:100],
                          "reviews_altered": len(report.reviews_altered), "decisions": report.decisions,
                          "facts": report.facts})
            return report
        whole = start.timestamp()
        if last_skipped is not None:  # whole only after it (beyond the grace of decisions in flight)
            whole = max(whole, last_skipped + MEMORY_GRACE_SECONDS + 1)
        marked = shared.rebuilt(whole, began)
        if marked is None:
            raise Unavailable("the shared state (Redis) became unavailable at the end: the memory is not "
                              "marked whole; run the rebuild again (what was written counts once)")
        if marked:
            report.whole_since = datetime.datetime.fromtimestamp(whole, datetime.timezone.utc)
            self.velocity.forget_gap()
        else:
            report.emptied_meanwhile = True
        log.info("anti-fraud memory rebuilt", extra={
            "event": "shared_memory_rebuilt", "decisions": report.decisions, "facts": report.facts,
            "reviews_written": report.reviews_written, "reviews_skipped": sum(report.reviews_skipped.values()),
            "skipped": sum(report.skipped.values()), "whole": marked, "seconds": round(report.seconds, 3)})
        return report

    def _earlier_reviews(self, report: Rebuilt, start: datetime.datetime, now: datetime.datetime, wall: float,
                         window_keys: int, year_keys: int, owed: set[str]) -> float | None:
        """Write the marks of the DECLINEs on review made since `start` (up to the rebuild's start)
        of referrals made before it: the decisions read above are those made since `start`, so such
        a review (a referral of last week closed yesterday, after Redis was emptied) would
        otherwise be lost to a rebuild `--since` yesterday. Each is written as `write_review`
        writes it (`_checked_facts`: the decision's row and the review checked, the decision's
        facts and the review's marks at the review's moment, those the live store would have
        dropped left out); an approval writes nothing; the reviews are read a page at a time, as
        the decisions are. Returns the latest moment of a review whose marks could not be written
        (the memory counts as whole only after it), or None."""
        last_skipped: float | None = None
        after = 0
        while True:
            with self.database.session() as session:
                page = reviews.closing_earlier(session, start, now, after, self.page)
                rows = {row.id: row for row in decisions.for_rebuild(session, [note.closes for note in page])}
            facts: list[tuple[float, Entry]] = []
            paid: list[str] = []
            for note in page:
                report.reviews += 1
                row = rows.get(note.closes)
                if row is None or self._declined_on_review(note, report.reviews_altered) is None:
                    continue  # an approval, or a review altered (named in reviews_altered): nothing written
                found = self._checked_facts(row, _utc(row.created_at).timestamp(), wall, window_keys,
                                            year_keys, note)
                if isinstance(found, str):
                    report.reviews_skipped[found] += 1
                    if found in (ALTERED, VERSION_ALTERED):
                        report.altered.append(row.id)
                    moment = _utc(note.created_at).timestamp()
                    last_skipped = moment if last_skipped is None else max(last_skipped, moment)
                    continue
                report.reviews_written += 1
                facts += [(at, entry) for at, entry in found if at > wall - entry.retention]
                if row.id in owed:
                    paid.append(row.id)
            if facts and self.velocity.shared.replay(wall, facts) is None:
                raise Unavailable(f"the shared state (Redis) became unavailable after {report.facts} facts "
                                  f"of {report.decisions} decisions and {report.reviews} earlier decisions' "
                                  "reviews: the memory is not marked whole; run the rebuild again (what was "
                                  "written counts once)")
            if paid:
                with self.database.session() as session:
                    report.owed_paid += owed_marks.paid(session, paid)
            report.facts += len(facts)
            if len(page) < self.page:
                return last_skipped
            after = page[-1].seq

    def pay_owed(self, now: float, limit: int) -> int | None:
        """Write the marks owed (velocity_owed_marks: the store refused them after the decision
        was stored) of up to `limit` decisions, the earliest first, from their stored rows as the
        rebuild writes a decision's facts (its MAC checked, its own version, its input unsealed:
        its marks, and its events, which count once), at their own moments, and settle them.
        Returns how many were settled; None when the store refused (they stay owed). Workers doing
        it at once write the same members: each counts once. A decision whose facts cannot be
        written (its row altered, its personal data purged, ...: `_checked_facts`) or no longer
        stored is settled too, logged `shared_marks_lost` with why: only it could have said what
        they were."""
        with self.database.session() as session:
            owed = owed_marks.oldest(session, limit)
        if not owed:
            return 0
        if self.velocity.shared.recent([]) is None:  # still down: nothing read, nothing unsealed
            return None
        written, lost, marks = self._write_again(owed, now)
        if not written:
            return None
        with self.database.session() as session:
            owed_marks.paid(session, owed)
        for decision_id, why in lost.items():
            log.error(f"a stored decision's owed anti-fraud marks cannot be written: {why}", extra={
                "event": "shared_marks_lost", "decision_id": decision_id, "why": why})
        log.warning("anti-fraud marks owed while the shared state was down are written", extra={
            "event": "shared_marks_written", "decisions": len(owed) - len(lost), "marks": marks})
        return len(owed)

    def write_review(self, decision_id: str, now: float) -> bool:
        """Write the marks of a referral an underwriter just closed (`Velocity.remember_review`):
        the decision's facts again from its stored row, as the marks owed are written, now with its
        closing review's DECLINE (the facts it had count once). False when the store refused
        (then they are owed); True when written, or when there is nothing that can be written
        (logged `shared_marks_lost` with why, as for marks owed)."""
        written, lost, _ = self._write_again([decision_id], now)
        for why in lost.values():
            log.error(f"a reviewed decision's anti-fraud marks cannot be written: {why}", extra={
                "event": "shared_marks_lost", "decision_id": decision_id, "why": why})
        return written

    def _write_again(self, decision_ids: list[str], now: float) -> tuple[bool, dict[str, str], int]:
        """Write again, at `now`, the facts of these stored decisions as the rebuild writes a
        decision's (`_checked_facts`: its row checked, with its closing review's DECLINE; those the
        live store would have dropped left out): (whether the store took them, {decision id: why its
        facts cannot be written}, how many facts)."""
        with self.database.session() as session:
            rows = decisions.for_rebuild(session, decision_ids)
            closed = reviews.closing(session, [row.id for row in rows if row.outcome == "REFER"])
        window_keys = self._keys(now, MAX_WINDOW_SECONDS)
        year_keys = self._keys(now, MAX_DAYS_SINCE_SECONDS)
        facts: list[tuple[float, Entry]] = []
        lost = {decision_id: "decision not stored" for decision_id in decision_ids}
        for row in rows:
            del lost[row.id]
            found = self._checked_facts(row, _utc(row.created_at).timestamp(), now, window_keys, year_keys,
                                        closed.get(row.id))
            if isinstance(found, str):
                lost[row.id] = found
                continue
            facts += [(at, entry) for at, entry in found if at > now - entry.retention]
        written = not facts or self.velocity.shared.replay(now, facts) is not None
        return written, lost, len(facts)

    def _keys(self, now: float, retention: int) -> int:
        """Under how many keys a fact kept `retention` seconds is written: the current key alone
        once it is known to be older than the retention (only it is read), else every configured
        key (the module's docstring says why). Never marks the key's first use."""
        hashers = len(self.personal.key_ids)
        if hashers == 1:
            return 1
        first = self.velocity.shared.first_used(self.personal.key_id, now, mark=False)
        return 1 if first is not None and now - first >= retention else hashers

    def _checked_facts(self, row: Any, moment: float, wall: float, window_keys: int, year_keys: int,
                       review: Any = None, altered: list[str] | None = None) -> list[tuple[float, Entry]] | str:
        """`_facts` of a row that is what the service wrote (its MAC verifies), with the marks of
        its closing `review`'s DECLINE (`_declined_on_review`: the id of a review altered goes into
        `altered`); else ALTERED."""
        if not self._intact(row):
            return ALTERED
        return self._facts(row, moment, wall, window_keys, year_keys, self._declined_on_review(review, altered))

    def _declined_on_review(self, review: Any, altered: list[str] | None = None) -> tuple[float, list[str]] | None:
        """(its moment, its reasons) of a closing review that declined, as the service wrote it;
        None for none, an approval, or a review altered in the database (whatever it now says: a
        DECLINE made an APPROVE would drop a cooling-off; logged, `flask audit verify` names it,
        its id appended to `altered`; its marks are not written)."""
        if review is None:
            return None
        if not records.entry_intact("reviews", review, self.personal):
            log.error("a closing review fails its integrity check: it marks nothing", extra={
                "event": "record_altered", "review_id": review.id, "decision_id": review.decision_id})
            if altered is not None:
                altered.append(review.id)
            return None
        if review.kind != "review" or (review.body or {}).get("outcome") != "DECLINE":
            return None
        return _utc(review.created_at).timestamp(), list(review.body.get("reason_codes") or [])

    def _intact(self, row: Any) -> bool:
        """Whether a stored row is what the service wrote (`records.intact`, as replay and `flask
        audit verify` check it). The page's row holds the result and trace as the text stored,
        which the service stores in their canonical form; a row stored otherwise (or altered) is
        read again whole and checked as verify checks it, documents parsed."""
        if records.intact(row, self.personal):
            return True
        with self.database.session() as session:
            whole = decisions.by_id(session, row.id)
            return whole is not None and records.intact(whole, self.personal)

    def _facts(self, row: Any, moment: float, wall: float, window_keys: int, year_keys: int,
               declined: tuple[float, list[str]] | None = None) -> list[tuple[float, Entry]] | str:
        """The facts the live path recorded for a stored decision, each with its moment (none when
        it was not decided through the look-up: a periodic review, a policy without shared values),
        and the marks of its DECLINE on review (`declined`: the review's moment and reasons); or why
        they cannot be replayed."""
        shared = records.loaded(row.shared) if row.shared is not None else None
        if not shared or not any(value.get("source") for value in shared):
            return []  # the service computed no shared values for it: nothing was recorded
        policy = self._policy(row.policy_name, row.policy_hash)
        if policy is None or isinstance(policy, str):
            return policy or VERSION_MISSING
        recent = moment > wall - MAX_WINDOW_SECONDS  # else only last-seen marks are still kept
        outcomes = {row.outcome} | ({"DECLINE"} if declined else set())
        if not recent and not (declined and declined[0] > wall - MAX_WINDOW_SECONDS) and not any(
                d.kind == "days_since" and d.subject in outcomes for d in policy.parts.shared):
            return []
        if row.pii_digest is not None and row.pii_sealed is None:
            return PURGED
        try:
            clear = self.personal.unseal(row.pii_sealed) if row.pii_sealed else {}
        except Exception:  # noqa: BLE001 - KeyError (the key is gone), InvalidTag: cannot open it
            return KEY_MISSING
        moment_at = _utc(row.created_at)
        try:
            typed = policy.parse_input(records.with_decision_date(
                policy, privacy.restore(records.loaded(row.input_masked), clear), row.decision_date, moment_at))
        except InputError:
            return INPUT_UNFIT
        velocity = self.velocity
        event = row.idempotency_key or row.id  # as deciding names the application's event
        entries = [entry for _, entry in velocity.plan(policy, typed, event, window_keys, year_keys).entries]
        facts = [(moment, entry) for entry in entries + velocity.marks(
            policy, typed, row.outcome, row.reason_codes or [], row.id, window_keys, year_keys)]
        if declined is not None:
            at, reasons = declined
            facts += [(at, entry) for entry in velocity.marks(policy, typed, "DECLINE", reasons, row.id,
                                                              window_keys, year_keys)]
        return facts

    def _policy(self, name: str, policy_hash: str) -> Policy | str | None:
        """The policy version a decision was made with, loaded; None when it is not stored or no
        longer loads; VERSION_ALTERED when its stored files are not what its name says."""
        if policy_hash not in self._policies:
            try:
                found = self.store.matching(name, policy_hash=policy_hash)
            except Conflict:  # record_altered: its files were edited; never used
                self._policies[policy_hash] = VERSION_ALTERED
                return VERSION_ALTERED
            policy: Policy | str | None = None
            if found:
                try:
                    policy = compiling.load_version(found[0].name, dict(found[0].files), found[0].engine)
                except Exception:  # noqa: BLE001 - stored files this engine can no longer load
                    log.warning("a stored policy version no longer loads: its decisions are not replayed",
                                extra={"event": "rebuild_version_unloadable", "hash": policy_hash})
            self._policies[policy_hash] = policy
        return self._policies[policy_hash]


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(tzinfo=datetime.timezone.utc) if moment.tzinfo is None else moment
