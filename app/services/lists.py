"""Anti-fraud lists: blacklist, watchlist and whitelist entries held in the database by keyed hash
(never the value), added one at a time through the admin API or imported from a CSV file, and
matched in rules with in_list("blacklist", applicant.id_number) (docs/anti_fraud.md).

An import checks every row first: bad rows are reported by line number and left out, good rows
are written in one transaction (all of them or, on a fatal error, none), and importing the same
file again changes nothing (an entry is its list and value; a row for an entry that exists brings
its reason, source and expiry up to date).

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
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sqlalchemy.exc import SQLAlchemyError

from app.engine.language.expressions import DATABASE_LISTS, LIST_ENTRY_KINDS, PERSONAL_ENTRY_KINDS
from app.engine.language.resident_id import is_valid as resident_id_valid
from app.engine.privacy import mask
from app.privacy import PersonalData
from app.services.clock import CHINA, Clock, utc_now
from app.services.errors import InvalidInput, NotFound, Unavailable
from app.storage import lists as stored
from app.storage.db import Database
from app.storage.models import ListEntry

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

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected}


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
                 check_seconds: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.personal = personal
        self.clock = clock
        self.check_seconds = check_seconds  # the bound on how stale the copy may be
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._copy: _Copy | None = None

    def _row(self, entry: NewEntry, who: str, now: datetime.datetime) -> ListEntry:
        return ListEntry(list_name=entry.list_name, kind=entry.kind,
                         value_hash=self.personal.keyed_hash(entry.value),
                         key_id=self.personal.key_id, masked=masked(entry.kind, entry.value),
                         reason=entry.reason, source=entry.source, added_by=who, added_at=now,
                         expires_at=_expiry(entry.expires))

    def add(self, entry: NewEntry, who: str) -> tuple[dict[str, Any], str]:
        """Add one entry (or bring it up to date): the entry as shown, and what happened."""
        wrong = problem(entry)
        if wrong:
            raise InvalidInput(wrong, code="invalid_list_entry")
        now = self.clock()
        try:
            with self.database.session() as session:
                row = self._row(entry, who, now)
                what = stored.upsert(session, row)
                if what != "unchanged":
                    stored.changed(session)
                session.commit()
                self._copy = None
                shown = _shown(stored.entry(session, row.list_name, row.kind, row.value_hash))
        except SQLAlchemyError:
            raise Unavailable("the list entry could not be stored") from None
        return shown, what

    def entries(self, list_name: str, after: int | None = None, limit: int = 100) -> dict[str, Any]:
        """A page of a list's entries (values masked), in the order they were added."""
        if list_name not in LISTS:
            raise NotFound(f"no list {list_name!r}; the lists are {', '.join(LISTS)}", code="unknown_list")
        with self.database.session() as session:
            rows = stored.page(session, list_name, after, limit + 1)
        items = [_shown(row) for row in rows[:limit]]
        return {"items": items, "next_after": items[-1]["id"] if len(rows) > limit else None}

    def remove(self, list_name: str, entry_id: int) -> None:
        if list_name not in LISTS:
            raise NotFound(f"no list {list_name!r}", code="unknown_list")
        with self.database.session() as session:
            if not stored.remove(session, list_name, entry_id):
                raise NotFound(f"no entry {entry_id} on the {list_name}", code="unknown_list_entry")
        self._copy = None

    def import_csv(self, text: str, who: str, source: str = "import") -> ImportReport:
        """Import a CSV file (columns list, kind, value, reason, and optionally source and
        expires): bad rows reported by line and left out, good rows written all at once."""
        report = ImportReport()
        entries = list(self._read(text, source, report))
        now = self.clock()
        try:
            with self.database.session() as session:
                for entry in entries:
                    what = stored.upsert(session, self._row(entry, who, now))
                    setattr(report, what, getattr(report, what) + 1)
                if report.added or report.updated:
                    stored.changed(session)
                session.commit()
                self._copy = None
        except SQLAlchemyError:
            raise Unavailable("the import could not be written; nothing was imported") from None
        return report

    def _read(self, text: str, source: str, report: ImportReport) -> Iterable[NewEntry]:
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
            entries.append(entry)
        return entries

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
                    found = stored.matching(session, {h for keys in wanted.values() for _, _, h in keys}, now)
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
                    copy = _Copy(token, stored.in_force(session, now, MAX_COPIED_ENTRIES), checked)
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
