"""The decision record: an engine decision made storable (personal data masked, hashed and sealed),
the row, and the answer a caller reads back.

What a caller receives is built from the stored row, so it is exactly what compliance will read.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import re
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from app import metrics, privacy
from app.engine import Decision, InputError, Policy, PolicyRef
from app.engine.privacy import TEXT, mask, redact
from app.engine.render import FULL, NONE, at_level
from app.privacy import PersonalData
from app.services.access import Principal
from app.services.access_audit import AccessAudit
from app.services.clock import CHINA, iso_utc
from app.services.errors import NotFound
from app.services.velocity import SharedInput
from app.storage import chain, decisions, reviews
from app.storage.db import Database, RawJSON
from app.storage.decisions import DecisionRecord
from app.storage.models import Decision as DecisionRow
from app.storage.models import DecisionReview

log = logging.getLogger("firefly.audit")

# The input fields a policy may name for the date of the decision; the service fills the first it
# declares with the date of the request in China (the engine never reads the clock).
DECISION_DATE_FIELDS = ("decision_date", "application_date", "as_of")
# The input field a policy declares (type datetime) for the moment of the decision: the service
# fills it with the request's time in China, a replay with the stored decision's.
DECISION_TIME_FIELD = "decision_time"
# Where an application carries its consent references (stored on the row, searchable).
CONSENT_FIELDS = {"pipl_consent_id": "consent.pipl_consent_id",
                  "bureau_authorisation_id": "consent.bureau_authorisation_id"}


DECISION_ID = re.compile(r"[0-9a-f]{32}")
LINE_HISTORY_LIMIT = 1000   # decisions of one line in one answer (a line reviewed monthly for 30 years: 360)
# Where a drawdown or a review names the application decision that granted its line (stored on
# the row: a line's history leads back to it). The line itself is the input's `pii: line` field.
GRANTING_DECISION_FIELDS = ("line.application_decision_id", "account.application_decision_id")


def new_decision_id(now: datetime.datetime) -> str:
    """A 32-hex id that sorts by creation time (milliseconds), then at random."""
    return f"{int(now.timestamp() * 1000):012x}{os.urandom(10).hex()}"


def decision_date_field(policy: Policy) -> str | None:
    fields = policy.input_schema.fields
    return next((name for name in DECISION_DATE_FIELDS if name in fields), None)


def with_decision_date(policy: Policy, raw: Mapping[str, Any], decision_date: datetime.date,
                       moment: datetime.datetime | None = None) -> dict:
    """The input the engine sees: the policy's decision-date field set to the service's date, and
    its decision-time field (if it declares one) to the moment of the request in China (a date or
    time sent by the caller stays in the stored input, and is not used)."""
    name = decision_date_field(policy)
    result = dict(raw) if name is None else {**raw, name: decision_date.isoformat()}
    if DECISION_TIME_FIELD in policy.input_schema.fields and moment is not None:
        if moment.tzinfo is None:  # read back from SQLite: UTC
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        result[DECISION_TIME_FIELD] = moment.astimezone(CHINA).isoformat()
    return result


@dataclass(frozen=True)
class Settled:
    """What a row keeps of an engine Decision, without its trace objects: a made decision that can
    travel between processes (a batch review's workers decide, the main process stores)."""

    policy: PolicyRef
    backend: str
    outcome: str
    limit: Any
    customer_group: Any
    score: Any
    score_band: str | None
    reason_codes: tuple[str, ...]


@dataclass(frozen=True)
class MadeDecision:
    """A decision made but not yet stored: everything its row needs, personal data masked."""

    decision: Decision
    result: dict[str, Any]
    result_text: RawJSON
    trace_text: RawJSON
    input_masked: dict[str, Any]
    clear: dict[str, Any]       # the personal values of the input, in clear: sealed, never stored
    kinds: dict[str, str]       # path -> kind of personal data
    hits: list[str]
    engine_seconds: float
    consent: dict[str, str | None]  # the consent references the application carried
    typed: dict[str, Any] | None = None  # the typed input (the velocity marks read its keys)
    granted_by: str | None = None   # the application decision that granted the line (drawdown, review)

    def portable(self) -> "MadeDecision":
        """The same made decision with the engine's Decision reduced to what a row needs."""
        d = self.decision
        return replace(self, decision=Settled(d.policy, d.backend, d.outcome, d.limit, d.customer_group,
                                              d.score, d.score_band, tuple(d.reason_codes)))


def make(policy: Policy, raw: Mapping[str, Any], decision_date: datetime.date,
         moment: datetime.datetime | None = None,
         shared: Callable[[dict], SharedInput] | SharedInput | None = None) -> MadeDecision:
    """Decide on a request body; raises the engine's InputError when it does not fit the schema.
    `shared`: the policy's shared-state values, or how to compute them from the typed input
    (deciding: the velocity use case; a replay: the values stored in the trace)."""
    kinds = policy.pii_fields()
    clear = privacy.extract(raw, kinds)
    # A consent reference is stored in its own text column, which cannot hold the NUL character
    # (PostgreSQL refuses it: "could not be stored", a 503 for the caller's mistake): refused with
    # the schema's errors, before deciding, so a refused request records no velocity event.
    refused = {path: ["must not contain the NUL character"] for path in CONSENT_FIELDS.values()
               if _holds_nul(privacy.get_path(raw, path))}
    try:
        typed = policy.parse_input(with_decision_date(policy, raw, decision_date, moment))
    except InputError as error:
        raise InputError({**refused, **error.errors}) from None
    if refused:
        raise InputError(refused)
    # Personal data typed inside free text (an ID in the employer's name) is stored as a personal
    # field is: masked in the stored input and trace, sealed whole for a replay; the engine reads
    # the text as sent, so the decision is the same. (Looked for once the input fits its schema:
    # each text within its max_length.)
    texts = privacy.free_text(raw, policy.free_text_fields())
    if texts:
        clear, kinds = {**clear, **texts}, {**kinds, **dict.fromkeys(texts, TEXT)}
    given = shared(typed) if callable(shared) else shared
    started = time.perf_counter()
    decision = policy.decide(typed, shared=given.values if given else None,
                             sources=given.sources if given else None)
    seconds = time.perf_counter() - started
    result_text = RawJSON(privacy.scrub_json(decision.to_json(), clear, kinds))
    trace_text = RawJSON(privacy.scrub_json(decision.trace.to_json(), clear, kinds))
    return MadeDecision(decision=decision, result=json.loads(result_text), result_text=result_text,
                        trace_text=trace_text, input_masked=privacy.masked_copy(raw, clear, kinds),
                        clear=clear, kinds=kinds, hits=list(dict.fromkeys(decision.hits)),
                        engine_seconds=seconds, consent=_consent(raw), typed=typed,
                        granted_by=_granted_by(raw))


def _holds_nul(value: Any) -> bool:
    return isinstance(value, str) and "\x00" in value


def _consent(raw: Mapping[str, Any]) -> dict[str, str | None]:
    found = {}
    for column, path in CONSENT_FIELDS.items():
        value = privacy.get_path(raw, path)
        found[column] = consent_reference(value) if isinstance(value, str) and value else None
    return found


def consent_reference(value: str) -> str:
    """A consent reference as its column keeps it and a search looks it up: at most 100 characters,
    any resident ID, mobile or card number typed inside masked (the stored input masks it too), so
    that the same reference searched for finds the row."""
    return redact(value)[:100]


def _granted_by(raw: Mapping[str, Any]) -> str | None:
    for path in GRANTING_DECISION_FIELDS:
        value = privacy.get_path(raw, path)
        if isinstance(value, str) and DECISION_ID.fullmatch(value):
            return value
    return None


def to_row(made: MadeDecision, *, personal: PersonalData, now: datetime.datetime,
           decision_date: datetime.date, caller: Principal, request_id: str,
           idempotency_key: str | None, request_fingerprint: str, arm: str | None = None,
           shadow_of: str | None = None, decision_id: str | None = None) -> DecisionRecord:
    """The decision row, ready to insert (`arm`, `shadow_of`: champion/challenger; `decision_id`:
    one made before deciding, else a new one): a plain record of the columns, not an ORM object."""
    decision = made.decision
    hashes = personal.search_hashes(made.clear, made.kinds)
    sealed = personal.seal(made.clear) if made.clear else None
    row = DecisionRecord(
        id=decision_id or new_decision_id(now), created_at=now, decision_date=decision_date,
        policy_name=decision.policy.name, policy_version=str(decision.policy.version),
        policy_hash=decision.policy.hash, engine=decision.backend, outcome=decision.outcome,
        limit=None if decision.limit is None else int(decision.limit),
        customer_group=decision.customer_group, score=decision.score, score_band=decision.score_band,
        reason_codes=list(decision.reason_codes), rule_hits=made.hits, result=made.result_text,
        trace=made.trace_text,
        # canonical text once: the content hash reads it as it is and the INSERT stores it as it
        # is (each serialised the dict again before; the text read back is the same dict)
        input_masked=RawJSON(chain.dumps(made.input_masked)),
        pii_sealed=sealed, pii_digest=chain.sha256(sealed) if sealed else None,
        resident_id_hash=hashes.get("resident_id"), phone_hash=hashes.get("phone"),
        key_id=personal.key_id, **made.consent,
        idempotency_key=idempotency_key, request_hash=request_fingerprint, request_id=request_id,
        channel=caller.name, arm=arm, shadow_of=shadow_of,
        line_hash=hashes.get("line"), granted_by=made.granted_by)
    row.content_hash = chain.decision_content_hash(row)
    row.row_mac = personal.mac(chain.mac_text("decisions", row.id, row.content_hash))
    return row


def intact(row: DecisionRow, personal: PersonalData) -> bool:
    """Whether a stored row is what the service wrote: its content hashes to the hash its MAC
    covers, and its sealed personal data (unless purged) to its digest."""
    content_hash = chain.decision_content_hash(row)
    return (content_hash == row.content_hash
            and personal.mac_matches(row.row_mac, chain.mac_text("decisions", row.id, content_hash))
            and (row.pii_sealed is None or chain.sha256(row.pii_sealed) == row.pii_digest))


def loaded(value: Any) -> Any:
    """A JSON column's value as a dict, whether just made (JSON text) or read back (dict)."""
    return json.loads(value) if isinstance(value, str) else value


def answer(row: DecisionRow | DecisionRecord, trace: str, result: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a caller reads: the decision, its id, date and policy, and the trace at the level asked
    (`full`, `hits` or `none`: app/engine/render.py; the row keeps the full trace whatever is asked).
    `result`: the row's result text already parsed (a decision just made: MadeDecision.result,
    parsed from the very text the row stores), else it is parsed here."""
    body: dict[str, Any] = {
        "decision_id": row.id, "created_at": iso_utc(row.created_at),
        "decision_date": row.decision_date.isoformat() if row.decision_date else None,
        "policy": {"name": row.policy_name, "version": row.policy_version, "hash": row.policy_hash,
                   "engine": row.engine}}
    body.update({k: v for k, v in (loaded(row.result) if result is None else result).items()
                 if k not in body and k not in ("trace", "engine")})
    if row.pipl_consent_id or row.bureau_authorisation_id:  # a policy without consent shows none
        body["consent"] = {"pipl_consent_id": row.pipl_consent_id,
                           "bureau_authorisation_id": row.bureau_authorisation_id}
    if row.arm is not None:
        body["arm"] = row.arm
    if row.shadow_of is not None:
        body["shadow_of"] = row.shadow_of
    if row.granted_by is not None:
        body["granted_by"] = row.granted_by
    if trace != NONE:
        body["trace"] = at_level(loaded(row.trace), trace)
    return body


def entry_intact(log_name: str, row: Any, personal: PersonalData) -> bool:
    """Whether an entry of a chained log (a review, an access event) is what the service wrote:
    its content hashes to the hash its MAC covers."""
    content_hash = chain.CHAINED[log_name].content_hash(row)
    return content_hash == row.content_hash and personal.mac_matches(
        row.row_mac, chain.mac_text(log_name, row.id, content_hash))


def review_note(note: DecisionReview, personal: PersonalData) -> dict[str, Any]:
    """A human step on a decision as compliance reads it (app/services/reviews.py writes them),
    with whether it is what the service wrote: the final outcome and limit are the underwriter's
    only while `intact`."""
    ok = entry_intact("reviews", note, personal)
    if not ok:
        metrics.observe_tampering("review")
        log.error("a stored review fails its integrity check",
                  extra={"event": "record_altered", "review_id": note.id, "decision_id": note.decision_id})
    return {**dict(note.body), "id": note.id, "kind": note.kind, "actor": note.actor, "role": note.role,
            "at": iso_utc(note.created_at), "answers": note.answers, "intact": ok}


@dataclass(frozen=True)
class Search:
    """A compliance search: filters (personal data in clear, hashed before any query), a page size
    and the cursor of the page before."""

    policy: str | None = None
    version: str | None = None
    hash: str | None = None
    outcome: str | None = None
    group: str | None = None
    channel: str | None = None
    reason: str | None = None
    rule: str | None = None
    created_from: datetime.datetime | None = None
    created_to: datetime.datetime | None = None
    id_number: str | None = None
    phone: str | None = None
    consent_id: str | None = None
    bureau_authorisation_id: str | None = None
    arm: str | None = None      # champion, challenger or shadow (champion/challenger)
    awaiting_review: bool = False  # only REFERs that no underwriter has closed yet (the queue)
    cursor: str | None = None
    limit: int = 50
    trace: str = NONE  # the level of the trace in each item: full, hits or none
    # The keyed hashes of an ID number or phone, for an interface that hashed them on the way in
    # (the console keeps clear values out of its URLs).
    id_number_hash: tuple[str, ...] | None = None
    phone_hash: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class Records:
    """Reading stored decisions back: one by id, or a search a page at a time, newest first."""

    def __init__(self, database: Database, personal: PersonalData, audit: AccessAudit) -> None:
        self.database = database
        self.personal = personal
        self.audit = audit  # every read and search is recorded (who, what, which decisions)

    def row(self, decision_id: str) -> DecisionRow:
        """The stored row, or NotFound."""
        row = None
        if DECISION_ID.fullmatch(decision_id):  # anything else (a NUL byte) never reaches the database
            with self.database.session() as session:
                row = decisions.by_id(session, decision_id)
                # Not stored, but sealed: it existed, and was deleted behind the service's back
                # ("no such decision" would let whoever deleted it say it never was).
                seal = chain.seal_of(session, "decisions", decision_id) if row is None else None
            if seal is not None:
                metrics.observe_tampering("decision")
                log.error("a sealed decision is no longer stored", extra={
                    "event": "record_deleted", "decision_id": decision_id, "position": seal.position})
                raise NotFound(f"decision {decision_id} was sealed in the decision log (entry {seal.position}) "
                               "and is no longer stored: deleted in the database (flask audit verify)",
                               code="record_deleted")
        if row is None:
            raise NotFound(f"no decision {decision_id!r}", code="unknown_decision")
        return row

    def get(self, decision_id: str, who: Principal | None = None, request_id: str | None = None,
            exported_as: str | None = None) -> dict[str, Any]:
        """One stored decision with its trace (the read recorded). `exported_as` ("print", "pdf"):
        the decision leaves the service as a document, recorded as `decision.export` with its form
        instead of `decision.read`, so that the access log tells a copy taken away from a page read."""
        row = self.row(decision_id)
        body = self._checked(row, FULL)
        with self.database.session() as session:
            notes = reviews.for_decision(session, body["decision_id"])
            if row.arm == "champion":  # champion/challenger: the challenger's decision beside it
                body["shadow_id"] = decisions.shadow_id(session, row.id)
        if notes:  # an underwriter's review, an applicant's requests and their answers
            body["reviews"] = [review_note(n, self.personal) for n in notes]
        if exported_as is None:
            self.audit.record(who, "decision.read", [body["decision_id"]], {}, request_id)
        else:
            self.audit.record(who, "decision.export", [body["decision_id"]], {"as": exported_as}, request_id)
        return body

    def _checked(self, row: DecisionRow, trace: str) -> dict[str, Any]:
        """The answer of a compliance read, with whether the row is still what the service wrote:
        a search filters on columns, and an edited column must not pass unseen."""
        body = answer(row, trace)
        ok = intact(row, self.personal)
        body["record"] = {"seq": row.seq, "intact": ok}
        if not ok:
            metrics.observe_tampering("decision")
            log.error("a stored decision fails its integrity check",
                      extra={"event": "record_altered", "decision_id": row.id})
        return body

    def search(self, search: Search, who: Principal | None = None, request_id: str | None = None) -> Page:
        """Stored decisions matching the filters, newest first (the search and its results recorded;
        an ID number or phone asked for only as its keyed hash)."""
        with self.database.session() as session:
            rows = decisions.search(session, limit=search.limit + 1, before_id=search.cursor,
                                    **self._filters(search))
        page = rows[:search.limit]
        more = len(rows) > search.limit
        result = Page([self._checked(row, search.trace) for row in page], page[-1].id if more else None)
        personal = any(value is not None for value in (search.id_number, search.phone, search.id_number_hash,
                                                       search.phone_hash))
        details = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(search).items()}
        self.audit.record(who, "decision.search_personal" if personal else "decision.search",
                          [item["decision_id"] for item in result.items], details, request_id)
        return result

    def line_history(self, line_id: str, who: Principal | None = None, request_id: str | None = None,
                     limit: int = LINE_HISTORY_LIMIT) -> dict[str, Any]:
        """A credit line's history in order: the application decision that granted it, then its
        drawdowns and reviews (found by the line id's keyed hash, under every key; the read recorded)."""
        with self.database.session() as session:
            rows = decisions.for_line(session, self.personal.search_keys(line_id), limit + 1)
        if not rows:
            raise NotFound("no decision about this line", code="unknown_line")
        items = [self._checked(row, NONE) for row in rows[:limit]]
        self.audit.record(who, "line.read", [item["decision_id"] for item in items],
                          {"line": mask("line", line_id)}, request_id)
        return {"line": mask("line", line_id), "items": items, "complete": len(rows) <= limit}

    def counts(self, search: Search) -> dict[str, int]:
        """{outcome: how many} of all the decisions the search matches, every page together."""
        with self.database.session() as session:
            return decisions.count_by_outcome(session, **self._filters(search))

    def search_hash(self, value: str) -> tuple[str, ...]:
        """The keyed hashes an ID number or phone is searched by (one under every key, so that rows
        hashed before a key rotation are found too)."""
        return tuple(self.personal.search_keys(value))

    def _filters(self, search: Search) -> dict[str, Any]:
        hashed = self.personal.search_keys  # under every key: rows hashed before a rotation too

        def personal(clear: str | None, hashes: tuple[str, ...] | None) -> list[str] | None:
            if clear is not None:
                return hashed(clear)
            return list(hashes) if hashes else None

        return dict(
            created_from=search.created_from, created_to=search.created_to,
            reason=search.reason, rule=search.rule, policy_name=search.policy,
            policy_version=search.version, policy_hash=search.hash, outcome=search.outcome,
            customer_group=search.group, channel=search.channel, arm=search.arm,
            awaiting_review=search.awaiting_review,
            pipl_consent_id=search.consent_id and consent_reference(search.consent_id),
            bureau_authorisation_id=search.bureau_authorisation_id and consent_reference(
                search.bureau_authorisation_id),
            resident_id_hash=personal(search.id_number, search.id_number_hash),
            phone_hash=personal(search.phone, search.phone_hash))
