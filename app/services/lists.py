"""Anti-fraud lists: blacklist, watchlist and whitelist entries held in the database by keyed hash
(never the value), added one at a time through the admin API or imported from a CSV file, and
matched in rules with in_list("blacklist", applicant.id_number) (docs/anti_fraud.md).

An import checks every row first: bad rows are reported by line number and left out, good rows
are written in one transaction (all of them or, on a fatal error, none), and importing the same
file again changes nothing (an entry is its list and value; a row for an entry that exists brings
its reason, source and expiry up to date).

Every change is written in one transaction with its access-log record (AccessAudit.append): both
or neither, so a change the log cannot take is not made. A change that relaxes an anti-fraud
control (`relaxes`: a whitelist entry added or made to end later; a blacklist or watchlist entry
removed or made to end sooner) is held as a pending ListChange until another key (approver or
admin; never its maker: `own_change`) approves it; one that tightens applies at once. Every entry
written carries a row MAC: a whitelist entry whose MAC is missing or wrong (written or altered
straight in the database) matches nothing (docs/controls.md, "Anti-fraud lists").

Matching reads a copy of the entries in force that each process keeps (at most
MAX_COPIED_ENTRIES of them; beyond that every decision asks the database). Every change to the
entries writes a new version token in its own transaction; the copy is loaded again when the
token it was made under is no longer the stored one. The token is read at most once every
`check_seconds` (FIREFLY_LIST_CHECK_SECONDS, 1 s by default): an entry added, changed or removed
through any process is matched by every worker within that bound after its commit (0: the token
is read on every decision). A change made through this process's own Lists is seen at once.
"""
from __future__ import annotations

import csv
import datetime
import io
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app import metrics
from app.engine.language.expressions import DATABASE_LISTS, LIST_ENTRY_KINDS, PERSONAL_ENTRY_KINDS
from app.engine.language.resident_id import is_valid as resident_id_valid
from app.engine.privacy import mask
from app.privacy import PersonalData
from app.services.access import Principal
from app.services.access_audit import AccessAudit
from app.services.clock import CHINA, Clock, iso_utc, utc_now
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from app.storage import access_events
from app.storage import lists as stored
from app.storage.db import Database
from app.storage.models import ListChange, ListEntry

log = logging.getLogger("firefly.lists")
_T = TypeVar("_T")

LISTS = DATABASE_LISTS
KINDS = LIST_ENTRY_KINDS  # the kinds in_list may name (app/engine/language/expressions.py)


def entry_kinds(pii: str | None) -> tuple[str, ...]:
    """The kinds of entries a field's value is matched against: a field holding an ID number, a
    phone number or a bank card (its `pii:` kind) only entries of that kind; any other field
    (a device id, an employer's name) only device and employer entries. So a device id typed as
    somebody's phone number is not that phone on any list: a whitelisted phone does not whitelist
    a device, and a device listed under a phone number's digits does not list the phone."""
    kind = PERSONAL_ENTRY_KINDS.get(pii or "")
    return (kind,) if kind else ("device", "employer")  # unless in_list names the kind
COLUMNS = ("list", "kind", "value", "reason", "source", "expires")
REQUIRED_COLUMNS = ("list", "kind", "value", "reason")
MAX_IMPORT_ROWS = 100_000
MAX_COPIED_ENTRIES = 200_000  # entries in force a process copies; more: it asks the database each time
KEEPERS = ("admin",)                 # add, remove, import entries; propose changes that relax a control
CHECKERS = ("approver", "admin")     # approve or reject a pending change (never its maker's own approval)
CHANGE_STATES = ("pending", "approved", "rejected")
MAX_REASON = 2000
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
_CARD = re.compile(r"^[0-9]{12,19}$")


@dataclass(frozen=True)
class NewEntry:
    list_name: str
    kind: str
    value: str
    reason: str
    source: str = "manual"
    expires: datetime.date | None = None  # the last day the entry applies (Beijing time)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {line, message}
    pending: list[dict[str, Any]] = field(default_factory=list)   # {line, change, list, kind, value}

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "pending": self.pending}


def relaxes(list_name: str, exists: bool, before: datetime.datetime | None,
            after: datetime.datetime | None) -> bool:
    """Whether writing an entry (ending `after`; None: never) where one ending `before` exists
    (or none) relaxes an anti-fraud control: a whitelist entry added or made to end later; a
    blacklist or watchlist entry made to end sooner. Such a change waits for a second person;
    one that tightens (a blacklist or watchlist entry added or extended, a whitelist entry
    shortened) or changes only the reason or source applies at once. Removal: `remove`."""
    if list_name == "whitelist":
        return not exists or _ends_later(after, before)
    return exists and _ends_later(before, after)


def _ends_later(one: datetime.datetime | None, other: datetime.datetime | None) -> bool:
    one, other = _utc(one), _utc(other)
    if one is None:
        return other is not None
    return other is not None and one > other


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite reads back naive UTC
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def approved_by(maker: str, checker: str) -> str:
    """An entry's added_by once a second person approved it."""
    return f"{maker}, approved by {checker}"


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"say why (a reason of at most {MAX_REASON} characters)", code="reason_required")
    return reason


def _terms(row: ListEntry | ListChange) -> dict[str, Any]:
    """What an update may change on an entry: compared to say whether anything changed, recorded
    before and after in the access log."""
    expires = _utc(row.expires_at)
    return {"reason": row.reason, "source": row.source, "expires_at": expires.isoformat() if expires else None}


def _about(row: ListEntry | ListChange) -> dict[str, Any]:
    """Which entry, for the access log: never the value, its masked form and keyed hash."""
    return {"list": row.list_name, "kind": row.kind, "masked": row.masked, "value_hash": row.value_hash,
            "key_id": row.key_id}


def _removed(row: ListEntry) -> dict[str, Any]:
    """A removed entry as the access log keeps it (the row itself is gone)."""
    return {**_terms(row), "added_by": row.added_by, "added_at": iso_utc(_utc(row.added_at))}


def _change_details(row: ListChange) -> dict[str, Any]:
    return {"change": row.id, "action": row.action, **_about(row), "entry": row.entry_id,
            "before": row.before, "proposed": _terms(row) if row.action == "add" else None,
            "maker": row.maker}


def _change_shown(row: ListChange) -> dict[str, Any]:
    made = _utc(row.made_at)
    decided = _utc(row.decided_at)
    return {"id": row.id, "action": row.action, "list": row.list_name, "kind": row.kind,
            "value": row.masked, **_terms(row), "entry_id": row.entry_id, "before": row.before,
            "maker": row.maker, "made_at": made.isoformat(), "state": row.state,
            "checker": row.checker, "decided_at": decided.isoformat() if decided else None,
            "decision_reason": row.decision_reason}


# What a list entry's reason and source may not hold: C0 and C1 control characters (a tab, a
# newline, ESC and CSI start what a terminal runs) and the bidirectional overrides that reorder
# what follows on the line. The API's schema refuses the same (app/api/schemas.py).
UNSHOWABLE = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"   # a regex class, as in OpenAPI
_UNSHOWABLE = re.compile(f"[{UNSHOWABLE}]")


def problem(entry: NewEntry) -> str | None:
    """What is wrong with an entry, in words a list keeper can act on; None when it is fine."""
    if entry.list_name not in LISTS:
        return f"list '{entry.list_name}' is not one of {', '.join(LISTS)}"
    if entry.kind not in KINDS:
        return f"kind '{entry.kind}' is not one of {', '.join(KINDS)}"
    value = entry.value
    if not value or len(value) > 100:
        return "the value is empty or longer than 100 characters"
    if entry.kind == "resident_id" and not resident_id_valid(value.upper()):
        return "not a valid 18-character resident ID number (check digit)"
    if entry.kind == "phone" and not _PHONE.match(value):
        return "a phone number is 11 digits starting with 1"
    if entry.kind == "card" and not _CARD.match(value):
        return "a card number is 12 to 19 digits"
    if not entry.reason or len(entry.reason) > 200:
        return "give a reason (at most 200 characters)"
    if len(entry.source) > 100:
        return "the source is longer than 100 characters"
    # A reason is read by the checker (`flask lists changes`, one change a line): a tab, a newline
    # or an escape sequence could forge a line (another maker, another change) or rewrite the terminal.
    if _UNSHOWABLE.search(entry.reason) or _UNSHOWABLE.search(entry.source):
        return "the reason and the source must not hold control characters (tab, newline, escape)"
    return None


def masked(kind: str, value: str) -> str:
    """How an entry shows its value: personal data by the one masking rule, a device id by its
    last four characters, an employer (no personal data) as written."""
    if kind == "resident_id":
        return mask("resident_id", value.upper())
    if kind == "phone":
        return mask("phone", value)
    if kind == "card":
        return mask("bank_card", value)
    if kind == "device":
        return "****" + value[-4:] if len(value) > 8 else "****"
    return value


def _expiry(day: datetime.date | None) -> datetime.datetime | None:
    """The moment an entry stops applying: the end of its last day in Beijing time."""
    if day is None:
        return None
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(),
                                     CHINA).astimezone(datetime.timezone.utc)


def _shown(row: ListEntry) -> dict[str, Any]:
    expires = row.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.timezone.utc)
    added = row.added_at if row.added_at.tzinfo else row.added_at.replace(tzinfo=datetime.timezone.utc)
    return {"id": row.id, "list": row.list_name, "kind": row.kind, "value": row.masked,
            "reason": row.reason, "source": row.source, "added_by": row.added_by,
            "added_at": added.isoformat(),
            "expires_at": expires.isoformat() if expires else None}


class Lists:
    def __init__(self, database: Database, personal: PersonalData, clock: Clock = utc_now,
                 check_seconds: float = 1.0, monotonic: Callable[[], float] = time.monotonic,
                 audit: AccessAudit | None = None) -> None:
        self.database = database
        self.personal = personal
        self.clock = clock
        self.check_seconds = check_seconds  # the bound on how stale the copy may be
        self.monotonic = monotonic
        self.audit = audit  # every change is recorded in the access log, in its own transaction
        self._lock = threading.Lock()
        self._copy: _Copy | None = None

    def _row(self, entry: NewEntry, who: str, now: datetime.datetime) -> ListEntry:
        return ListEntry(list_name=entry.list_name, kind=entry.kind,
                         value_hash=self.personal.keyed_hash(entry.value),
                         key_id=self.personal.key_id, masked=masked(entry.kind, entry.value),
                         reason=entry.reason, source=entry.source, added_by=who, added_at=now,
                         expires_at=_expiry(entry.expires))

    # -- changes: each recorded in the access log with it, or not made -------------------------
    def _changing(self, who: Principal, roles: tuple[str, ...] = KEEPERS, what: str = "change the anti-fraud lists"
                  ) -> AccessAudit:
        if who.role not in roles:
            raise Forbidden(f"role {who.role!r} may not {what}; needs {' or '.join(roles)}")
        if self.audit is None:
            raise Unavailable("no access log to record the list change in; nothing was changed")
        return self.audit

    def _write(self, work: Callable[[Session], _T]) -> _T:
        """Run `work` in one transaction with its access-log record and commit: both or neither."""
        try:
            with self.database.session() as session:
                result = work(session)
                session.commit()
        except SQLAlchemyError as error:
            log.error("list change not made: it could not be stored with its access-log record",
                      extra={"event": "list_change_not_recorded", "error": type(error).__name__})
            raise Unavailable("the list change could not be stored with its record in the access log; "
                              "nothing was changed") from None
        finally:
            self._copy = None
        return result

    def add(self, entry: NewEntry, who: Principal, request_id: str | None = None) -> dict[str, Any]:
        """Add one entry (or bring it up to date). A change that relaxes a control (`relaxes`)
        becomes a pending change for another person to approve: {"result": "pending", "change"};
        otherwise {"result": "added" | "updated" | "unchanged", "entry"}."""
        audit = self._changing(who)
        wrong = problem(entry)
        if wrong:
            raise InvalidInput(wrong, code="invalid_list_entry")
        now = self.clock()
        row = self._row(entry, who.name, now)

        def work(session: Session) -> dict[str, Any]:
            found = stored.entry(session, row.list_name, row.kind, row.value_hash)
            before = _terms(found) if found is not None else None
            if before == _terms(row):
                return {"result": "unchanged", "entry": _shown(found)}
            if relaxes(row.list_name, found is not None, found.expires_at if found is not None else None,
                       row.expires_at):
                change = self._propose(session, audit, "add", row, found, who, now, request_id)
                return {"result": "pending", "change": _change_shown(change)}
            what = stored.upsert(session, row)
            stored.changed(session)
            written = self._seal(stored.entry(session, row.list_name, row.kind, row.value_hash))
            audit.append(session, who, {"added": "lists.add", "updated": "lists.update"}[what], {
                **_about(written), "entry": written.id, "before": before, "after": _terms(written)},
                request_id)
            return {"result": what, "entry": _shown(written)}
        return self._write(work)

    def remove(self, list_name: str, entry_id: int, who: Principal, request_id: str | None = None
               ) -> dict[str, Any]:
        """Remove an entry: a whitelist entry at once; a blacklist or watchlist entry (relaxing a
        control) becomes a pending change. The access-log record keeps what was removed."""
        if list_name not in LISTS:
            raise NotFound(f"no list {list_name!r}", code="unknown_list")
        audit = self._changing(who)
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            found = stored.entry_by_id(session, list_name, entry_id)
            if found is None:
                raise NotFound(f"no entry {entry_id} on the {list_name}", code="unknown_list_entry")
            if list_name != "whitelist":
                change = self._propose(session, audit, "remove", found, found, who, now, request_id)
                return {"result": "pending", "change": _change_shown(change)}
            details = {**_about(found), "entry": found.id, "removed": _removed(found)}
            stored.delete(session, found)
            audit.append(session, who, "lists.remove", details, request_id)
            return {"result": "removed", "removed": entry_id}
        return self._write(work)

    def _propose(self, session: Session, audit: AccessAudit, action: str, row: ListEntry,
                 found: ListEntry | None, who: Principal, now: datetime.datetime,
                 request_id: str | None, line: int | None = None) -> ListChange:
        """Store a change that relaxes a control as pending (the same one pending already: that
        one), recorded in the access log unless `line` says an import records it."""
        change = ListChange(action=action, list_name=row.list_name, kind=row.kind, value_hash=row.value_hash,
                            key_id=row.key_id, masked=row.masked, reason=row.reason, source=row.source,
                            expires_at=_utc(row.expires_at), entry_id=found.id if found is not None else None,
                            before=_terms(found) if found is not None else None, maker=who.name,
                            maker_role=who.role, made_at=now, state="pending")
        same = stored.pending_like(session, change)
        if same is not None:
            return same
        stored.add_change(session, change)
        if line is None:
            audit.append(session, who, "lists.change.propose", _change_details(change), request_id)
        return change

    def changes(self, state: str | None = "pending", after: int | None = None, limit: int = 100
                ) -> dict[str, Any]:
        """A page of list changes (by state), oldest first."""
        if state is not None and state not in CHANGE_STATES:
            raise InvalidInput(f"state is one of {', '.join(CHANGE_STATES)}", code="invalid_state")
        with self.database.session() as session:
            rows = stored.changes(session, state, after, limit + 1)
        items = [_change_shown(row) for row in rows[:limit]]
        return {"items": items, "next_after": items[-1]["id"] if len(rows) > limit else None}

    def change(self, change_id: int) -> dict[str, Any]:
        with self.database.session() as session:
            row = stored.change(session, change_id)
            if row is None:
                raise NotFound(f"no list change {change_id}", code="unknown_list_change")
            return _change_shown(row)

    def approve(self, change_id: int, who: Principal, reason: str, request_id: str | None = None
                ) -> dict[str, Any]:
        """Apply a pending change: by another person than its maker (approver or admin)."""
        audit = self._changing(who, CHECKERS, "approve a list change")
        reason = _reason(reason)
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            change = self._pending(session, change_id, "approved")
            if change.maker == who.name:
                raise Forbidden("four eyes: a list change that relaxes a control is approved by another "
                                f"person than its maker ({change.maker})", code="own_change")
            if change.action == "add":
                row = ListEntry(list_name=change.list_name, kind=change.kind, value_hash=change.value_hash,
                                key_id=change.key_id, masked=change.masked, reason=change.reason,
                                source=change.source, added_by=approved_by(change.maker, who.name),
                                added_at=now, expires_at=_utc(change.expires_at))
                what = stored.upsert(session, row, also=("added_by",))
                written = self._seal(stored.entry(session, row.list_name, row.kind, row.value_hash))
                applied = {"entry": written.id, "result": what, "after": _terms(written)}
                stored.changed(session)
            else:
                found = stored.entry_by_id(session, change.list_name, change.entry_id or 0)
                if found is None or (found.kind, found.value_hash) != (change.kind, change.value_hash):
                    raise Conflict(f"entry {change.entry_id} is no longer on the {change.list_name}; "
                                   "reject the change", code="list_entry_gone")
                applied = {"entry": found.id, "result": "removed", "removed": _removed(found)}
                stored.delete(session, found)
            change.state, change.checker, change.checker_role = "approved", who.name, who.role
            change.decided_at, change.decision_reason = now, reason
            audit.append(session, who, "lists.change.approve",
                         {**_change_details(change), **applied, "checker": who.name, "reason": reason},
                         request_id)
            return {**_change_shown(change), "applied": applied}
        return self._write(work)

    def reject(self, change_id: int, who: Principal, reason: str, request_id: str | None = None
               ) -> dict[str, Any]:
        """Reject a pending change (its maker may withdraw it): nothing is applied."""
        audit = self._changing(who, CHECKERS, "reject a list change")
        reason = _reason(reason)
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            change = self._pending(session, change_id, "rejected")
            change.state, change.checker, change.checker_role = "rejected", who.name, who.role
            change.decided_at, change.decision_reason = now, reason
            audit.append(session, who, "lists.change.reject",
                         {**_change_details(change), "checker": who.name, "reason": reason}, request_id)
            return _change_shown(change)
        return self._write(work)

    def _pending(self, session: Session, change_id: int, to: str) -> ListChange:
        change = stored.change(session, change_id, lock=True)
        if change is None:
            raise NotFound(f"no list change {change_id}", code="unknown_list_change")
        if change.state != "pending":
            raise Conflict(f"list change {change_id} is {change.state}; only a pending change can be {to}",
                           code="list_change_not_pending")
        return change

    def entries(self, list_name: str, after: int | None = None, limit: int = 100) -> dict[str, Any]:
        """A page of a list's entries (values masked), in the order they were added."""
        if list_name not in LISTS:
            raise NotFound(f"no list {list_name!r}; the lists are {', '.join(LISTS)}", code="unknown_list")
        with self.database.session() as session:
            rows = stored.page(session, list_name, after, limit + 1)
        items = [_shown(row) for row in rows[:limit]]
        return {"items": items, "next_after": items[-1]["id"] if len(rows) > limit else None}

    def import_csv(self, text: str, who: Principal, source: str = "import", request_id: str | None = None
                   ) -> ImportReport:
        """Import a CSV file (columns list, kind, value, reason, and optionally source and
        expires): bad rows reported by line and left out, good rows written all at once; a row
        that relaxes a control becomes a pending change (reported by line), recorded with the
        import in the access log."""
        audit = self._changing(who)
        report = ImportReport()
        rows = self._read(text, source, report)
        now = self.clock()

        def work(session: Session) -> ImportReport:
            written: list[dict[str, Any]] = []
            proposed: list[dict[str, Any]] = []
            for line, entry in rows:
                row = self._row(entry, who.name, now)
                found = stored.entry(session, row.list_name, row.kind, row.value_hash)
                before = _terms(found) if found is not None else None
                if before == _terms(row):
                    report.unchanged += 1
                    continue
                if relaxes(row.list_name, found is not None, found.expires_at if found is not None else None,
                           row.expires_at):
                    change = self._propose(session, audit, "add", row, found, who, now, request_id, line)
                    report.pending.append({"line": line, "change": change.id, "list": change.list_name,
                                           "kind": change.kind, "value": change.masked})
                    proposed.append({"line": line, "change": change.id, **_about(change)})
                    continue
                what = stored.upsert(session, row)
                setattr(report, what, getattr(report, what) + 1)
                done = self._seal(stored.entry(session, row.list_name, row.kind, row.value_hash))
                item = {"line": line, "entry": done.id, "list": done.list_name, "kind": done.kind,
                        "result": what}
                if what == "updated":
                    item.update(before=before, after=_terms(done))
                written.append(item)
            if report.added or report.updated:
                stored.changed(session)
            audit.append(session, who, "lists.import", {
                "source": source, "added": report.added, "updated": report.updated,
                "unchanged": report.unchanged, "rejected": len(report.rejected),
                "pending": len(report.pending), "entries": written, "changes": proposed}, request_id)
            return report
        return self._write(work)

    def _read(self, text: str, source: str, report: ImportReport) -> list[tuple[int, NewEntry]]:
        reader = csv.DictReader(io.StringIO(text))
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise InvalidInput(f"line 1: the header must name the columns {', '.join(COLUMNS[:4])} "
                               f"(and optionally source, expires); missing: {', '.join(missing)}",
                               code="invalid_list_file")
        reader.fieldnames = header
        entries = []
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_IMPORT_ROWS:
                raise InvalidInput(f"the file has more than {MAX_IMPORT_ROWS} rows; split it",
                                   code="invalid_list_file")
            line = reader.line_num
            if None in row:
                report.rejected.append({"line": line, "message": "more fields than the header names"})
                continue
            values = {k: (v or "").strip() for k, v in row.items()}
            if not any(values.values()):
                continue  # a blank line
            expires = None
            if values.get("expires"):
                try:
                    expires = datetime.date.fromisoformat(values["expires"])
                except ValueError:
                    report.rejected.append({"line": line, "message": f"expires '{values['expires']}' "
                                            "is not a date such as 2027-12-31"})
                    continue
            entry = NewEntry(values["list"].lower(), values["kind"].lower(), values["value"],
                             values["reason"], values.get("source") or source, expires)
            wrong = problem(entry)
            if wrong:
                report.rejected.append({"line": line, "message": wrong})
                continue
            entries.append((line, entry))
        return entries

    # -- row MACs: an entry written or altered outside the service is noticed --------------------
    def _seal(self, row: ListEntry) -> ListEntry:
        """Give a written entry its row MAC (after the flush that gave it its id)."""
        row.row_mac = self.personal.mac(stored.mac_text(row))
        return row

    def _trusted(self, row: ListEntry) -> bool:
        return row.row_mac is not None and self.personal.mac_matches(row.row_mac, stored.mac_text(row))

    def _untrusted_whitelist(self, session: Session, now: datetime.datetime,
                             value_hashes: set[str] | None = None) -> set[tuple[str, str, str]]:
        """The whitelist entries in force whose row MAC is missing or wrong (written or altered
        straight in the database): they match nothing, logged. A blacklist or watchlist entry in
        that state still matches (the safe direction); `flask audit verify` names it."""
        bad = set()
        for row in stored.rows_in_force(session, "whitelist", now, value_hashes):
            if not self._trusted(row):
                metrics.observe_tampering("list_entry")
                log.error("a whitelist entry's row MAC does not match its content: it is ignored",
                          extra={"event": "list_entry_mac_failed", "entry": row.id, "list": row.list_name,
                                 "kind": row.kind, "no_mac": row.row_mac is None})
                bad.add((row.list_name, row.kind, row.value_hash))
        return bad

    def verify_entries(self) -> dict[str, Any]:
        """Check every entry's row MAC, and the entries against the access log: {"checked",
        "failed": entries whose MAC does not match (written or altered outside the service),
        "no_mac": entries without one (made before migration 0026 and not MACed since: `flask
        audit vouch`), "deleted": entries the access log says are in force that are not stored
        (deleted outside the service)}, entries shown masked.

        A MAC proves a stored row is the service's; only the log can say a row is missing. Every
        change to the lists is logged in its own transaction (lists.add, lists.update,
        lists.remove, lists.import, an approved change, a vouch), so replaying those records in
        order gives the entries in force: a blacklist entry a DBA deleted (and which every worker
        then forgets at its next start) is named here, with the record that last put it in force."""
        checked, failed, no_mac, stored_ids = 0, [], [], set()
        with self.database.session() as session:
            for row in stored.every_entry(session):
                checked += 1
                stored_ids.add(row.id)
                if row.row_mac is None:
                    no_mac.append(_shown(row))
                elif not self._trusted(row):
                    failed.append(_shown(row))
            in_force = _in_force(access_events.with_actions(session, ENTRY_ACTIONS))
        deleted = [{"id": entry_id, **logged} for entry_id, logged in sorted(in_force.items())
                   if entry_id not in stored_ids]
        return {"checked": checked, "failed": failed, "no_mac": no_mac, "deleted": deleted}

    def mac_unmarked(self, who: Principal, reason: str, request_id: str | None = None) -> list[dict[str, Any]]:
        """Give the entries without a row MAC (made before migration 0026) theirs, recorded in the
        access log with each entry: run once after the migration, after checking the lists."""
        audit = self._changing(who)
        reason = _reason(reason)

        def work(session: Session) -> list[dict[str, Any]]:
            rows = [self._seal(row) for row in stored.without_mac(session)]
            stored.changed(session)
            audit.append(session, who, "lists.mac", {"reason": reason, "entries": [
                {"entry": row.id, **_about(row)} for row in rows]}, request_id)
            return [_shown(row) for row in rows]
        return self._write(work)

    def matches(self, values: dict[str, tuple[str, str, tuple[str, ...]]], now: datetime.datetime
                ) -> dict[str, bool]:
        """{name: whether the value is on the list} for {name: (list, value, the kinds of entries
        it is matched against: `entry_kinds`, or the one in_list names)}: the value hashed under
        every configured key (entries added before a key rotation match too)."""
        wanted = {name: [(list_name, kind, h) for h in self.personal.search_keys(value) for kind in kinds]
                  for name, (list_name, value, kinds) in values.items()}
        try:
            entries = self._entries(now)
            if entries is None:  # too many to copy: ask the database
                with self.database.session() as session:
                    hashes = {h for keys in wanted.values() for _, _, h in keys}
                    found = stored.matching(session, hashes, now)
                    if any(name == "whitelist" for name, _, _ in found):
                        found -= self._untrusted_whitelist(session, now, hashes)
                return {name: any(key in found for key in keys) for name, keys in wanted.items()}
        except SQLAlchemyError:
            # without the database no decision could be stored either: nothing is decided
            raise Unavailable("the database is unavailable: no decision was made") from None
        return {name: any(_applies(entries, key, now) for key in keys) for name, keys in wanted.items()}

    def _entries(self, now: datetime.datetime) -> dict[tuple[str, str], datetime.datetime | None] | None:
        """The copy of the entries in force, checked against the stored version token at most once
        every check_seconds and loaded again when it changed; None when there are too many."""
        copy = self._copy
        if copy is not None and self.monotonic() - copy.checked < self.check_seconds:
            return copy.entries
        with self._lock:
            copy = self._copy
            if copy is not None and self.monotonic() - copy.checked < self.check_seconds:
                return copy.entries
            checked = self.monotonic()
            with self.database.session() as session:
                token = stored.version(session)  # first: entries read after it are at least as new
                if copy is None or token != copy.token or copy.entries is None:
                    entries = stored.in_force(session, now, MAX_COPIED_ENTRIES)
                    if entries is not None:
                        for key in self._untrusted_whitelist(session, now):
                            entries.pop(key, None)
                    copy = _Copy(token, entries, checked)
                else:
                    copy = _Copy(copy.token, copy.entries, checked)
            self._copy = copy
            return copy.entries


@dataclass(frozen=True)
class _Copy:
    """A process's copy of the entries in force: the version token it was made under, the entries
    ({(list, kind, value hash): expiry}; None when too many to copy) and when the token was last read."""

    token: str | None
    entries: dict[tuple[str, str, str], datetime.datetime | None] | None
    checked: float


def _applies(entries: dict[tuple[str, str, str], datetime.datetime | None], key: tuple[str, str, str],
             now: datetime.datetime) -> bool:
    """Whether the copy holds the entry and it is still in force at `now`."""
    if key not in entries:
        return False
    expires = entries[key]
    return expires is None or expires > now


# The access-log actions that put list entries in force or take them out (`_in_force`).
ENTRY_ACTIONS = ("lists.add", "lists.update", "lists.remove", "lists.import", "lists.change.approve",
                 "lists.mac")


def _in_force(events: Any) -> dict[int, dict[str, Any]]:
    """{entry id: what the log said of it, and the record that last put it in force} for the
    entries the access log's list records, replayed in order, leave in force."""
    in_force: dict[int, dict[str, Any]] = {}

    def put(entry_id: Any, about: dict[str, Any], event: Any) -> None:
        if isinstance(entry_id, int):
            in_force[entry_id] = {"list": about.get("list"), "kind": about.get("kind"),
                                  "value": about.get("masked"), "logged": event.action,
                                  "event": event.id, "by": event.actor,
                                  "at": iso_utc(_utc(event.created_at))}

    for event in events:
        details = event.details or {}
        action = event.action
        if action in ("lists.add", "lists.update"):
            put(details.get("entry"), details, event)
        elif action == "lists.remove":
            in_force.pop(details.get("entry"), None)
        elif action == "lists.change.approve":
            if details.get("result") == "removed":
                in_force.pop(details.get("entry"), None)
            else:
                put(details.get("entry"), details, event)
        else:  # lists.import (entries added or updated), lists.mac (entries vouched for)
            for item in details.get("entries") or []:
                put(item.get("entry"), item, event)
    return in_force
