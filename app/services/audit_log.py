"""The tamper-evident logs: sealing entries into their chain, verifying it, purging sealed personal
data after the retention period.

The hot path only numbers an entry and MACs its content (app/storage/chain.py); sealing links
entries in batches, off the request, so deciding never waits on the chain's head. Each seal's
entry hash is a keyed hash of (log, position, entry id, sequence number, content hash, the link
before): without the key nobody can rebuild the chain after removing or changing an entry.
"""
from __future__ import annotations

import datetime
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import metrics
from app.privacy import PersonalData
from app.services.access_audit import AccessAudit
from app.services.clock import Clock, utc_now
from app.services.errors import InvalidInput
from app.storage import chain
from app.storage.db import Database
from app.storage.models import AccessEvent, Decision, LogSeal

log = logging.getLogger("firefly.audit")
BATCH = 500
# Links (and their entries, some 25 KB of JSON each, read back as Python values) that verify
# holds at a time.
VERIFY_PAGE = 100


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """An aware UTC time (SQLite gives times back naive, in UTC)."""
    return moment.replace(tzinfo=datetime.timezone.utc) if moment.tzinfo is None else moment


def _checkpoint_text(body: dict[str, Any]) -> str:
    return "checkpoint|" + chain.dumps(body)


def link_text(log_name: str, position: int, entry_id: str, seq: int, content_hash: str, prev_hash: str) -> str:
    return "|".join((log_name, str(position), entry_id, str(seq), content_hash, prev_hash))


@dataclass(frozen=True)
class Finding:
    """Something `verify` found wrong with one entry or link."""

    kind: str       # edited, deleted, inserted, reordered, seal_edited, seal_missing, chain_broken;
                    # truncated, rewritten (against a recorded head); purged (no recorded purge covers it)
    position: int | None
    entry_id: str | None
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = (f"entry {self.position}" if self.position is not None
                 else "decision" if self.kind == "purged" else "unsealed entry")
        return f"{self.kind.upper()}: {where} (id {self.entry_id}, seq {self.seq}): {self.detail}"


@dataclass(frozen=True)
class Anchor:
    """A log's head as recorded somewhere else (a checkpoint, a ticket): the position of its last
    link and that link's keyed hash. The chain alone cannot see its newest links cut off, nor an
    entry deleted with every seal after it and the rest chained again; a recorded head can."""

    position: int
    head: str


@dataclass
class Verification:
    log: str
    checked: int = 0
    head: str | None = None          # the entry hash of the last link checked (record it to anchor)
    position: int = 0                # the position of that link
    unsealed: int = 0                # entries not sealed yet, their MAC intact
    # of those, entries below the sealer's late-commit window (a commit delayed past it): the
    # workers' passes no longer look there; `flask audit seal` (the whole log) seals them
    behind_window: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def anchor(self) -> Anchor | None:
        """The head this run vouched for, to record elsewhere (None: nothing sealed yet)."""
        return Anchor(self.position, self.head) if self.head else None


class AuditLog:
    """Sealing and verifying the chained logs (decisions; access events)."""

    def __init__(self, database: Database, personal: PersonalData, clock: Clock = utc_now,
                 audit: AccessAudit | None = None, retention_days: int = 0) -> None:
        self.database = database
        self.personal = personal
        self.clock = clock
        self.audit = audit or AccessAudit(database, personal, clock)  # where a purge is recorded
        self.retention_days = retention_days  # FIREFLY_PII_RETENTION_DAYS: rows older may be purged
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The head each log had when this process last sealed or looked at it: a later pass whose
        # head went back or changed means links were deleted (a sealer that went on would chain
        # what is left again, hiding the deletion); it seals nothing more of that log and alerts.
        self._heads: dict[str, Anchor] = {}
        self._lost: set[str] = set()

    def head_lost(self, log_name: str) -> bool:
        """Whether this process saw the log's head go back or change (it no longer seals it)."""
        return log_name in self._lost

    @staticmethod
    def logs() -> list[str]:
        """The names of the chained logs."""
        return list(chain.CHAINED)

    # -- sealing ------------------------------------------------------------------------------
    def seal(self, log_name: str | None = None, whole: bool = False) -> int:
        """Seal every pending entry (of one log, or of all) within the late-commit window below
        the head, or anywhere in the log when `whole` (a read of the whole log: the command's
        way, for an entry whose commit was delayed past the window); returns how many were sealed."""
        total = 0
        for name in [log_name] if log_name else list(chain.CHAINED):
            # Another batch only when this one was full and sealed something: a pass over a log
            # with fewer pending entries than a batch asks the database once, not twice (and
            # entries refused for their MAC, which stay pending, cannot keep the loop going).
            while True:
                sealed, seen = self._seal_batch(name, whole)
                total += sealed
                if sealed == 0 or seen < BATCH:
                    break
        return total

    def _seal_batch(self, log_name: str, whole: bool = False) -> tuple[int, int]:
        """Seal up to BATCH pending entries of a log: (how many were sealed, how many were pending)."""
        with self.database.session() as session:
            if not chain.lock_sealer(session, log_name):
                return 0, 0  # another worker is sealing this log now
            last = chain.head(session, log_name)
            if not self._head_kept(session, log_name, last):
                return 0, 0
            position, prev = (last.position, last.entry_hash) if last else (0, "")
            after = 0 if whole else max(0, (last.seq if last else 0) - chain.LATE_COMMIT_WINDOW)
            count = 0
            links: list[dict[str, Any]] = []
            pending = chain.pending(session, log_name, after, BATCH)
            for entry in pending:
                digest = entry.content_hash
                if digest is None or not self.personal.mac_matches(
                        entry.row_mac, chain.mac_text(log_name, entry.id, digest)):
                    log.error("not sealing an entry that fails its MAC", extra={
                        "event": "seal_refused", "log": log_name, "entry_id": entry.id})
                    continue
                position += 1
                entry_hash = self.personal.mac(link_text(log_name, position, entry.id, entry.seq, digest, prev))
                links.append({"log": log_name, "position": position, "entry_id": entry.id, "seq": entry.seq,
                              "content_hash": digest, "prev_hash": prev, "entry_hash": entry_hash,
                              "sealed_at": self.clock()})
                prev, count = entry_hash, count + 1
            try:
                if links:  # one INSERT run for the batch (no unit-of-work bookkeeping per link)
                    chain.add_seals(session, links)
                session.commit()
            except IntegrityError:  # another sealer took these positions first: its links stand
                session.rollback()
                return 0, 0
            if position:
                self._heads[log_name] = Anchor(position, prev)
            return count, len(pending)

    def _head_kept(self, session: Any, log_name: str, last: LogSeal | None) -> bool:
        """Whether the link this process saw last as the log's head is still in the chain, as it
        was (an index probe on the seals' primary key)."""
        if log_name in self._lost:
            return False
        seen = self._heads.get(log_name)
        if seen is None:
            return True
        if last is not None and last.position == seen.position:
            kept = last.entry_hash == seen.head
        else:
            link = chain.seal_at(session, log_name, seen.position)
            kept = link is not None and link.entry_hash == seen.head
        if not kept:
            self._lost.add(log_name)
            metrics.observe_tampering("log_head")
            log.critical("the log's head went back or changed: links were deleted; not sealing it any more "
                         "(run flask audit verify against the last recorded head)", extra={
                             "event": "log_head_lost", "log": log_name, "position": seen.position,
                             "now": last.position if last else 0})
        return kept

    def start(self, interval: float) -> None:
        """Seal in a background thread every `interval` seconds (one per worker; they take turns)."""
        if interval <= 0 or self._thread is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.seal()
                except SQLAlchemyError as error:
                    log.warning("sealing failed; retrying", extra={"event": "seal_failed",
                                                                   "error": type(error).__name__})
        self._thread = threading.Thread(target=run, name="firefly-sealer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # -- verifying ----------------------------------------------------------------------------
    def verify(self, log_name: str = "decisions", first: int | None = None, last: int | None = None,
               anchor: Anchor | None = None) -> Verification:
        """Recompute the chain from entry `first` to `last` (positions, 1-based; all by default) and
        name every entry edited, deleted, inserted or reordered, and every link altered; with an
        `anchor` (a head recorded elsewhere), name a log cut off before it or chained again."""
        if log_name not in chain.CHAINED:
            raise InvalidInput(f"no chained log {log_name!r}; logs: {', '.join(chain.CHAINED)}",
                               code="unknown_log")
        first = max(1, first or 1)
        result = Verification(log_name)
        content_hash = chain.CHAINED[log_name].content_hash
        with self.database.session() as session:
            before = chain.seal_at(session, log_name, first - 1) if first > 1 else None
            prev = before.entry_hash if before else ""
            expected = first
            head_seq = 0
            low: int | None = None
            high: int | None = None
            # A page of links and their entries at a time (the entries with their documents, some
            # 25 KB each): memory stays that of one page however long the log.
            for links in chain.seal_pages(session, log_name, first, last, VERIFY_PAGE):
                rows = chain.entries(session, log_name, (s.entry_id for s in links))
                for link in links:
                    self._check_link(result, link, expected, prev)
                    expected, prev = link.position + 1, link.entry_hash
                    self._check_entry(result, link, rows.get(link.entry_id), content_hash)
                    result.checked += 1
                    low = link.seq if low is None else min(low, link.seq)
                    high = link.seq if high is None else max(high, link.seq)
                    head_seq = link.seq
                del rows  # before the next page is read, not after
                session.expunge_all()
            result.head = prev or None
            result.position = expected - 1 if prev else 0
            if anchor is not None:
                self._check_anchor(result, session, anchor)
            whole = first == 1 and last is None
            if whole:
                low = high = None
            else:
                low, high = low or 0, high or 0
            window_floor = head_seq - chain.LATE_COMMIT_WINDOW  # what the workers' passes still read
            for entry in chain.unsealed(session, log_name, low, high, VERIFY_PAGE):
                digest = content_hash(entry)
                if digest == entry.content_hash and self.personal.mac_matches(
                        entry.row_mac, chain.mac_text(log_name, entry.id, digest)):
                    result.unsealed += 1
                    if whole and entry.seq is not None and entry.seq <= window_floor:
                        result.behind_window += 1
                else:
                    result.findings.append(Finding("inserted", None, entry.id, entry.seq,
                                                   "not written by the service: its MAC does not match"))
            if log_name == "decisions" and whole:
                self._check_purges(result, session)
        return result

    PURGE = "decisions.purge"  # the access log's record of a retention purge

    def _check_purges(self, result: Verification, session: Any) -> None:
        """Name every decision whose sealed personal data is gone though no purge recorded in the
        access log (nor the configured retention) covers it. The append-only trigger lets the
        purge's update through for any row, to anyone who may update decisions; the chain covers
        the data's digest, not the data, so only this sees a recent decision made unreplayable."""
        floor = self._purged_before(session)
        emptied = (select(Decision.id, Decision.seq, Decision.created_at)
                   .where(Decision.pii_digest.is_not(None), Decision.pii_sealed.is_(None))
                   .order_by(Decision.seq).execution_options(yield_per=VERIFY_PAGE))
        for decision_id, seq, created_at in session.execute(emptied):
            if floor is None or _utc(created_at) >= floor:
                result.findings.append(Finding(
                    "purged", None, decision_id, seq,
                    "its sealed personal data was removed, and no recorded purge covers it "
                    f"(purges cover decisions made before {floor.isoformat() if floor else 'none'})"))

    def _purged_before(self, session: Any) -> datetime.datetime | None:
        """The latest moment before which a decision's personal data may be gone: the cutoff of the
        latest purge recorded (an access event the service wrote), or the configured retention."""
        floors = []
        if self.retention_days:
            floors.append(self.clock() - datetime.timedelta(days=self.retention_days))
        for event in session.scalars(select(AccessEvent).where(AccessEvent.action == self.PURGE)):
            digest = chain.access_content_hash(event)
            if digest != event.content_hash or not self.personal.mac_matches(
                    event.row_mac, chain.mac_text("access", event.id, digest)):
                continue  # a purge written by someone else covers nothing
            try:
                floors.append(datetime.datetime.fromisoformat(str(event.details["cutoff"])))
            except (KeyError, TypeError, ValueError):
                continue
        return max(_utc(moment) for moment in floors) if floors else None

    @staticmethod
    def _check_anchor(result: Verification, session: Any, anchor: Anchor) -> None:
        link = chain.seal_at(session, result.log, anchor.position)
        if link is None:
            end = chain.head(session, result.log)
            result.findings.append(Finding(
                "truncated", anchor.position, None, None,
                f"the log ends at position {end.position if end else 0}, before the head recorded at "
                f"position {anchor.position}: the entries after it were cut off with their seals"))
        elif link.entry_hash != anchor.head:
            result.findings.append(Finding(
                "rewritten", anchor.position, link.entry_id, link.seq,
                "the link at the recorded head's position is not the one recorded: entries before it "
                "were deleted with their seals and the rest chained again"))

    def _check_link(self, result: Verification, link: LogSeal, expected: int, prev: str) -> None:
        if link.position != expected:
            result.findings.append(Finding("seal_missing", expected, None, None,
                                           f"links {expected} to {link.position - 1} are gone"))
        elif link.prev_hash != prev:
            result.findings.append(Finding("chain_broken", link.position, link.entry_id, link.seq,
                                           "the link before it is not the one it was sealed after"))
        text = link_text(link.log, link.position, link.entry_id, link.seq, link.content_hash, link.prev_hash)
        if not self.personal.mac_matches(link.entry_hash, text):
            result.findings.append(Finding("seal_edited", link.position, link.entry_id, link.seq,
                                           "the seal's keyed hash does not match its fields"))

    def _check_entry(self, result: Verification, link: LogSeal, row: Any, content_hash: Any) -> None:
        if row is None:
            result.findings.append(Finding("deleted", link.position, link.entry_id, link.seq,
                                           "the sealed entry is no longer in the table"))
            return
        digest = content_hash(row)
        if digest != link.content_hash or not self.personal.mac_matches(
                row.row_mac, chain.mac_text(link.log, row.id, digest)):
            result.findings.append(Finding("edited", link.position, row.id, link.seq,
                                           "its content differs from what was sealed"))
        elif row.seq != link.seq:
            result.findings.append(Finding("reordered", link.position, row.id, link.seq,
                                           f"its sequence number is now {row.seq}, sealed as {link.seq}"))
        if getattr(row, "pii_sealed", None) is not None and chain.sha256(row.pii_sealed) != row.pii_digest:
            result.findings.append(Finding("edited", link.position, row.id, link.seq,
                                           "its sealed personal data is not the one it was stored with"))

    # -- checkpoints: heads recorded outside the database -------------------------------------
    def checkpoint(self, heads: dict[str, Anchor]) -> dict[str, Any]:
        """A checkpoint of the logs' heads, MACed under the log key (a file's reader who can edit
        it cannot make one that this service accepts)."""
        body = {"heads": {name: {"position": a.position, "head": a.head} for name, a in sorted(heads.items())},
                "written_at": self.clock().isoformat()}
        return {**body, "mac": self.personal.mac(_checkpoint_text(body))}

    def read_checkpoint(self, data: Any) -> tuple[dict[str, Anchor], str]:
        """The heads a checkpoint recorded and when; InvalidInput if it is not one this service
        wrote (its MAC fails, or it is not a checkpoint at all)."""
        try:
            body = {"heads": data["heads"], "written_at": str(data["written_at"])}
            heads = {str(name): Anchor(int(a["position"]), str(a["head"])) for name, a in data["heads"].items()}
            genuine = self.personal.mac_matches(str(data["mac"]), _checkpoint_text(body))
        except (KeyError, TypeError, ValueError, AttributeError):
            genuine = False
        if not genuine:
            raise InvalidInput("the checkpoint was not written by this service (its MAC does not match: "
                               "edited, or forged)", code="checkpoint_forged")
        return heads, body["written_at"]

    # -- retention ----------------------------------------------------------------------------
    def purge_personal_data(self, retention_days: int) -> int:
        """Remove the sealed personal data of decisions older than `retention_days`; their digest
        stays, so the chain still verifies. Returns how many rows were purged."""
        if retention_days < 1:
            raise InvalidInput("the retention period must be at least one day", code="invalid_retention")
        cutoff = self.clock() - datetime.timedelta(days=retention_days)
        with self.database.session() as session:
            purged = session.execute(update(Decision).where(Decision.created_at < cutoff,
                                                            Decision.pii_sealed.is_not(None))
                                     .values(pii_sealed=None)).rowcount
            # recorded with the purge, or neither: verify tells a purge from a row emptied by hand
            self.audit.append(session, None, self.PURGE, {"retention_days": retention_days,
                                                          "cutoff": cutoff.isoformat(), "rows": purged})
            session.commit()
        log.info("sealed personal data purged", extra={"event": "pii_purged", "rows": purged,
                                                       "retention_days": retention_days})
        return purged
