"""Human decisions on a stored decision: an underwriter closes a REFER with the final outcome, and an
applicant's request for an explanation or a human review (PIPL art. 24) is recorded with its answer.

Each is its own entry of the chained `reviews` log, linked to the decision and never changing it:
the automatic decision stays what it was; the review says what the bank finally decided and why.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from decimal import ROUND_FLOOR, Decimal

from sqlalchemy.exc import SQLAlchemyError

from app.privacy import PersonalData
from app.services import compiling, records
from app.services.access import Principal
from app.services.access_audit import AccessAudit
from app.services.clock import Clock, iso_utc, utc_now
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from app.services.policy_store import PolicyStore
from app.services.records import Records
from app.services.registry import PolicyRegistry
from app.storage import chain, reviews
from app.storage.db import Database
from app.storage.models import DecisionReview

if TYPE_CHECKING:
    from app.services.velocity import Velocity

UNDERWRITERS = ("underwriter",)
REQUEST_RECORDERS = ("compliance", "underwriter")
REQUEST_KINDS = ("explanation", "human_review")
# What an underwriter may finally decide on a REFER (the API's schema and the console's form offer these).
CLOSING_OUTCOMES = ("APPROVE", "DECLINE")


@dataclass(frozen=True)
class Review:
    """An underwriter's final decision on a referred application."""

    outcome: str                 # APPROVE or DECLINE
    limit: int | None            # whole yuan, APPROVE only
    reason_codes: tuple[str, ...]
    comment: str


class ReviewDesk:
    def __init__(self, database: Database, personal: PersonalData, records_: Records, audit: AccessAudit,
                 clock: Clock = utc_now, registry: PolicyRegistry | None = None,
                 store: PolicyStore | None = None, velocity: "Velocity | None" = None) -> None:
        self.database = database
        self.personal = personal
        self.records = records_
        self.audit = audit
        self.clock = clock
        self.registry = registry  # the served policies: the version that decided, most often
        self.store = store        # else the stored version, compiled once
        self.velocity = velocity  # app/services/velocity.py: a DECLINE on review marks the memory

    def close_referral(self, decision_id: str, review: Review, who: Principal,
                       request_id: str | None = None) -> dict[str, Any]:
        """Close a REFER with the underwriter's outcome, limit, reasons and comment (once)."""
        _require(who, UNDERWRITERS, "close a referred application")
        row = self.records.row(decision_id)
        if row.outcome != "REFER":
            raise Conflict(f"decision {row.id} is {row.outcome}; only a REFER is closed by review",
                           code="not_referred")
        if not records.intact(row, self.personal):
            raise Conflict(f"decision {row.id} fails its integrity check; it is not reviewed", code="record_altered")
        _check(review)
        if review.outcome == "APPROVE":
            _within_policy(review, records.loaded(row.trace), self._liftable(row))
        body = {"outcome": review.outcome, "limit": review.limit, "reason_codes": list(review.reason_codes),
                "comment": review.comment}
        note = self._append(row.id, "review", who, body, closes=row.id)
        if note is None:
            raise Conflict(f"decision {row.id} was closed by review already", code="already_reviewed")
        self.audit.record(who, "decision.review", [row.id], {"outcome": review.outcome}, request_id)
        if review.outcome == "DECLINE" and self.velocity is not None:
            # the bank's decline of the application: the cooling-off and, for a fraud reason, the
            # links start from it, as from an automatic DECLINE (docs/anti_fraud.md)
            self.velocity.remember_review(row.id, note.created_at)
        return records.review_note(note, self.personal)

    def _liftable(self, row: Any) -> frozenset[str]:
        """The caps of the deciding version an underwriter may approve above (`review_may_lift`);
        none when the version cannot be had (every cap then binds)."""
        policy = None
        if self.registry is not None:
            try:
                served = self.registry.served(row.policy_name)
            except NotFound:  # a policy no longer served: its stored version below
                served = None
            policy = served if served is not None and served.hash == row.policy_hash else None
        if policy is None and self.store is not None:
            try:
                [version] = self.store.matching(row.policy_name, policy_hash=row.policy_hash)
                policy = compiling.load_version(version.name, dict(version.files), row.engine)
            except Exception:  # noqa: BLE001 - missing, altered or unloadable: nothing is lifted
                policy = None
        spec = policy.parts.limit if policy is not None else None
        return frozenset(cap.id for cap in spec.caps if cap.review_may_lift) if spec else frozenset()

    def record_request(self, decision_id: str, kind: str, text: str, who: Principal,
                       received_at: datetime.datetime | None = None, request_id: str | None = None) -> dict[str, Any]:
        """Record an applicant's request for an explanation or a human review of the decision."""
        _require(who, REQUEST_RECORDERS, "record an applicant's request")
        if kind not in REQUEST_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(REQUEST_KINDS)}", code="invalid_request_kind",
                               details={"kind": [f"one of {', '.join(REQUEST_KINDS)}"]})
        row = self.records.row(decision_id)
        body = {"request_kind": kind, "text": _text(text, "text"),
                "received_at": iso_utc(received_at) if received_at else iso_utc(self.clock())}
        note = self._append(row.id, "request", who, body)
        self.audit.record(who, "decision.applicant_request", [row.id], {"kind": kind}, request_id)
        return records.review_note(note, self.personal)

    def answer_request(self, decision_id: str, request_ref: str, answer: str, who: Principal,
                       request_id: str | None = None) -> dict[str, Any]:
        """Record the answer given to an applicant's request (once per request)."""
        _require(who, REQUEST_RECORDERS, "answer an applicant's request")
        with self.database.session() as session:
            asked = reviews.by_id(session, request_ref) if len(request_ref) <= 32 else None
        if asked is None or asked.decision_id != decision_id or asked.kind != "request":
            raise NotFound(f"no applicant request {request_ref!r} on decision {decision_id!r}",
                           code="unknown_applicant_request")
        note = self._append(decision_id, "answer", who, {"answer": _text(answer, "answer")}, answers=asked.id)
        if note is None:
            raise Conflict(f"request {asked.id} was answered already", code="already_answered")
        self.audit.record(who, "decision.applicant_answer", [decision_id], {"request": asked.id}, request_id)
        return records.review_note(note, self.personal)

    def notes(self, decision_id: str) -> list[dict[str, Any]]:
        with self.database.session() as session:
            return [records.review_note(n, self.personal) for n in reviews.for_decision(session, decision_id)]

    def _append(self, decision_id: str, kind: str, who: Principal, body: dict[str, Any],
                closes: str | None = None, answers: str | None = None) -> DecisionReview | None:
        now = self.clock()
        note = DecisionReview(id=f"{int(now.timestamp() * 1000):012x}{os.urandom(10).hex()}",
                              decision_id=decision_id, kind=kind, closes=closes, answers=answers,
                              actor=who.name, role=who.role, body=body, created_at=now)
        note.content_hash = chain.review_content_hash(note)
        note.row_mac = self.personal.mac(chain.mac_text("reviews", note.id, note.content_hash))
        try:
            with self.database.session() as session:
                return note if reviews.append(session, note) else None
        except SQLAlchemyError:
            raise Unavailable("the review could not be stored; nothing was recorded") from None


def _check(review: Review) -> None:
    problems: dict[str, list[str]] = {}
    if review.outcome not in CLOSING_OUTCOMES:
        problems["outcome"] = [" or ".join(CLOSING_OUTCOMES)]
    if review.outcome == "APPROVE" and (review.limit is None or review.limit <= 0):
        problems["limit"] = ["an approval needs a limit in whole yuan above 0"]
    if review.outcome == "DECLINE" and review.limit is not None:
        problems["limit"] = ["a decline has no limit"]
    if not review.reason_codes:
        problems["reason_codes"] = ["at least one reason code"]
    if not review.comment.strip():
        problems["comment"] = ["say why"]
    if problems:
        raise InvalidInput("the review is incomplete", code="invalid_review", details=problems)


def _within_policy(review: Review, trace: dict[str, Any] | None, liftable: frozenset[str]) -> None:
    """An underwriter approves at most the limit the policy would have computed without the caps
    they may lift (`review_may_lift`: a cap standing for a check the rules could not make, such as
    income not yet verified): the base, under every other cap (income multiple, debt, channel,
    region), rounded down as the policy rounds. A referral is for checking what the rules could
    not, not for lending past the caps: before, an approval took any limit (5,000,000 on a product
    capped at 500,000). A larger limit, or one the policy could not compute (data missing), needs
    the application decided again on the completed data. A policy without a limit bounds nothing."""
    if not trace or "limit" not in trace:
        return
    computed = trace.get("limit") or {}
    base = computed.get("base")
    if base is None:
        raise InvalidInput("the policy computed no limit for this application (data it needs was missing): "
                           "decide it again with the data completed", code="limit_undetermined",
                           details={"limit": ["the policy computed no limit: decide the application again "
                                              "with the data completed"]})
    bound = Decimal(str(base))
    binding = None
    for cap in computed.get("caps") or []:
        if cap.get("value") is not None and cap.get("id") not in liftable and Decimal(str(cap["value"])) < bound:
            bound, binding = Decimal(str(cap["value"])), cap.get("id")
    step = int(computed.get("round_down_to") or 1)
    most = max(0, int(bound.to_integral_value(rounding=ROUND_FLOOR)) // step * step)
    if review.limit is not None and review.limit > most:
        under = f"under {binding}" if binding else "its base"
        raise InvalidInput(f"the limit {review.limit} is above the {most} the policy allows for this application "
                           f"({under})", code="limit_above_policy",
                           details={"limit": [f"at most {most} ({under}); a larger limit needs the application "
                                              "decided again"]})


def _text(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 4000:
        raise InvalidInput(f"{field} must be 1 to 4000 characters", code="invalid_text", details={field: ["1 to 4000 characters"]})
    return value


def _require(who: Principal, roles: tuple[str, ...], what: str) -> None:
    if who.role not in roles:
        raise Forbidden(f"role {who.role!r} may not {what}; needs {' or '.join(roles)}")
