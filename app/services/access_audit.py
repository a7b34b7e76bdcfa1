"""The access log: every read, search by personal data, replay, export and release action, with who,
when, what and which decisions; appended to a chained log (sealed and verified like decisions).

An access that cannot be recorded does not happen: the caller gets Unavailable. Personal data a
search asked for is kept only as its keyed hash, so the log answers "who looked for this person"
without holding the person's number.
"""
from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app import metrics
from app.privacy import PersonalData
from app.services.access import Principal
from app.services.clock import Clock, iso_utc, utc_now
from app.services.errors import Unavailable
from app.storage import access_events, chain
from app.storage.db import Database
from app.storage.models import AccessEvent

log = logging.getLogger("firefly.audit")
SERVICE = Principal("service", "internal")  # a use case called without an interface's caller (batch, test)
PERSONAL_FILTERS = ("id_number", "phone")


@dataclass(frozen=True)
class AuditSearch:
    actor: str | None = None
    action: str | None = None
    decision_id: str | None = None
    created_from: datetime.datetime | None = None
    created_to: datetime.datetime | None = None
    cursor: str | None = None
    limit: int = 50


class AccessAudit:
    def __init__(self, database: Database, personal: PersonalData, clock: Clock = utc_now) -> None:
        self.database = database
        self.personal = personal
        self.clock = clock

    def record(self, who: Principal | None, action: str, decision_ids: list[str] | tuple[str, ...] = (),
               details: Mapping[str, Any] | None = None, request_id: str | None = None) -> str:
        """Append one access event; returns its id. Unavailable when it cannot be stored."""
        event = self._event(who, action, decision_ids, details, request_id)
        try:
            with self.database.session() as session:
                access_events.append(session, event)
        except SQLAlchemyError as error:
            log.error("access not recorded: database unavailable",
                      extra={"event": "access_not_recorded", "error": type(error).__name__})
            raise Unavailable("the access could not be recorded; it was not performed") from None
        return event.id

    def append(self, session: Session, who: Principal | None, action: str,
               details: Mapping[str, Any] | None = None, request_id: str | None = None) -> str:
        """Append one access event in the caller's transaction (not committed): the change it
        records and the record are stored together or not at all. Returns its id; the caller
        handles a database error (nothing stored)."""
        event = self._event(who, action, (), details, request_id)
        access_events.append(session, event, commit=False)
        return event.id

    def _event(self, who: Principal | None, action: str, decision_ids: list[str] | tuple[str, ...],
               details: Mapping[str, Any] | None, request_id: str | None) -> AccessEvent:
        who = who or SERVICE
        now = self.clock()
        event = AccessEvent(id=f"{int(now.timestamp() * 1000):012x}{os.urandom(10).hex()}", created_at=now, actor=who.name, role=who.role,
                            action=action, decision_ids=list(decision_ids),
                            details=self.without_personal_data(details or {}), request_id=request_id)
        event.content_hash = chain.access_content_hash(event)
        event.row_mac = self.personal.mac(chain.mac_text("access", event.id, event.content_hash))
        return event

    def without_personal_data(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """The details with an ID number or phone searched for replaced by its keyed hash."""
        kept: dict[str, Any] = {}
        for key, value in details.items():
            if value is None:
                continue
            if key in PERSONAL_FILTERS:
                kept[key + "_hash"] = self.personal.keyed_hash(value)
            elif isinstance(value, (datetime.datetime, datetime.date)):
                kept[key] = value.isoformat()
            else:
                kept[key] = value
        return kept

    def search(self, query: AuditSearch, who: Principal | None = None,
               request_id: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Access events matching the filters, newest first, a page at a time (itself recorded)."""
        with self.database.session() as session:
            rows = access_events.search(
                session, limit=query.limit + 1, before_id=query.cursor, actor=query.actor,
                action=query.action, decision_id=query.decision_id,
                created_from=query.created_from, created_to=query.created_to)
        page, more = rows[:query.limit], len(rows) > query.limit
        self.record(who, "audit.search", [], {k: v for k, v in vars(query).items() if k != "limit"},
                    request_id)
        return [self._shown(row) for row in page], page[-1].id if more else None

    def _shown(self, row: AccessEvent) -> dict[str, Any]:
        """An access event as compliance reads it, with whether it is what the service wrote (who
        looked at a person is the question the log answers: an actor renamed in the database must
        not read as the log's)."""
        content_hash = chain.access_content_hash(row)
        ok = content_hash == row.content_hash and self.personal.mac_matches(
            row.row_mac, chain.mac_text("access", row.id, content_hash))
        if not ok:
            metrics.observe_tampering("access_event")
            log.error("a stored access event fails its integrity check",
                      extra={"event": "record_altered", "access_event_id": row.id})
        return {"id": row.id, "created_at": iso_utc(row.created_at), "actor": row.actor, "role": row.role,
                "action": row.action, "decision_ids": list(row.decision_ids), "details": dict(row.details),
                "request_id": row.request_id, "seq": row.seq, "intact": ok}
