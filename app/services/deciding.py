"""Deciding: one application in, one stored decision out (or a domain error).

The flow of one decision: the served policy -> the idempotency claim (a retry waits briefly for a
request deciding under the same key, then answers with its decision) -> an earlier decision under
the same key? -> the engine -> the policy version recorded -> the row stored -> the claim completed
-> metrics -> the answer, built from the stored row. A decision that cannot be stored is not
returned: the caller gets Unavailable and nothing was decided.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import metrics
from app.engine import InputError, Policy
from app.engine.render import NONE
from app.privacy import PersonalData
from app.services import challengers, records
from app.services.access import Principal
from app.services.clock import Clock, business_date, utc_now
from app.services.errors import Conflict, Forbidden, InvalidInput, Unavailable
from app.services.policy_store import PolicyStore
from app.services.registry import PolicyRegistry
from app.services.velocity import SharedInput, Velocity, path_value
from app.state.idempotency import Claims, ClaimState
from app.storage import decisions
from app.storage.db import Database
from app.storage.decisions import DecisionRecord
from app.storage.models import Decision as DecisionRow

log = logging.getLogger("firefly.decisions")
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class DecisionRequest:
    policy_name: str
    body: dict[str, Any]
    caller: Principal
    request_id: str
    idempotency_key: str | None = None  # as the caller sent it; scoped to the caller here
    trace: str = NONE  # the trace level of the answer (full, hits, none); the row always keeps it full


@dataclass(frozen=True)
class Decided:
    answer: dict[str, Any]
    decision_id: str
    replayed: bool  # True: the decision stored for an earlier request with the same key and body


def valid_idempotency_key(key: str) -> bool:
    """1 to 255 printable ASCII characters (what an HTTP header carries unambiguously)."""
    return 0 < len(key) <= MAX_IDEMPOTENCY_KEY and all(" " <= c <= "~" for c in key)


class Deciding:
    def __init__(self, registry: PolicyRegistry, policy_store: PolicyStore, database: Database,
                 claims: Claims, personal: PersonalData, clock: Clock = utc_now,
                 claim_wait: float = 5.0, velocity: Velocity | None = None) -> None:
        self.registry = registry
        self.policy_store = policy_store
        self.database = database
        self.claims = claims
        self.personal = personal
        self.clock = clock
        self.claim_wait = claim_wait  # seconds a retry waits for the request deciding under its key
        self.velocity = velocity  # shared-state values (velocity, links, lists); None: none computed

    def decide(self, request: DecisionRequest) -> Decided:
        started = time.perf_counter()
        policy = self.registry.served(request.policy_name)
        _refuse_unbound(policy, request)
        key = self._scoped_key(request)
        request_fingerprint = self.personal.request_hash(policy.name, request.body)
        owned = key is not None and self._claim(key, request_fingerprint, policy.name, request.body)
        try:
            earlier = self._earlier(key, policy.name, request.body)
            if earlier is None:
                try:
                    row, made = self._decide_and_store(policy, request, key, request_fingerprint)
                except IntegrityError:
                    # Another request stored a decision under the same key first: answer with it.
                    earlier = self._earlier(key, policy.name, request.body)
                    if earlier is None:
                        raise
        except BaseException:
            if owned:
                self.claims.release(key)
            raise
        if earlier is not None:
            # A claim taken for a key whose decision is stored (Redis restarted empty, or a lease
            # that ran out) is completed with it, so the next retry reads it from the claim.
            if owned:
                self.claims.complete(key, request_fingerprint, earlier.id)
            return Decided(records.answer(earlier, request.trace), earlier.id, True)
        if key is not None:
            self.claims.complete(key, request_fingerprint, row.id)
        metrics.observe_decision(policy.name, row.outcome, made.hits, time.perf_counter() - started)
        return Decided(records.answer(row, request.trace, made.result), row.id, False)

    @staticmethod
    def _scoped_key(request: DecisionRequest) -> str | None:
        """The stored key: the caller's key name and the header, so two channels never collide."""
        if request.idempotency_key is None:
            return None
        if not valid_idempotency_key(request.idempotency_key):
            raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters",
                               code="invalid_idempotency_key")
        return f"{request.caller.name}:{request.idempotency_key}"

    def _claim(self, key: str, request_fingerprint: str, policy_name: str, body: dict[str, Any]) -> bool:
        """True if this request now owns the key; Conflict if another body has it. While another
        request is deciding under the key, wait (up to claim_wait) for it to store its decision or
        give the key up; after that, Conflict with Retry-After."""
        deadline = time.monotonic() + self.claim_wait
        pause = 0.005
        while True:
            claim = self.claims.claim(key, request_fingerprint)
            if claim.state is ClaimState.OTHER_BODY and claim.fingerprint is not None \
                    and self.personal.same_request(claim.fingerprint, policy_name, body):
                return False  # the same body, hashed under the key before a rotation: the row decides
            if claim.state is ClaimState.OTHER_BODY:
                raise _other_body()
            if claim.state is not ClaimState.IN_PROGRESS:
                return claim.state is ClaimState.OWNED
            left = deadline - time.monotonic()
            if left <= 0:
                raise Conflict("a request with this Idempotency-Key is still being decided; "
                               "retry after the time in Retry-After", code="idempotency_in_progress",
                               retry_after=1)
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.1)

    def _earlier(self, key: str | None, policy_name: str, body: dict[str, Any]) -> DecisionRow | None:
        """The decision stored under this key; Conflict if it was for another body (compared under
        the key that hashed the stored request, which may predate a rotation)."""
        if key is None:
            return None
        with self.database.session() as session:
            row = decisions.by_idempotency_key(session, key)
        if row is not None and not self.personal.same_request(row.request_hash, policy_name, body):
            raise _other_body()
        if row is not None and not records.intact(row, self.personal):
            # The channel books what a retry answers: a row edited since it was stored (a DECLINE
            # made an APPROVE) is not answered, as a compliance read says and a replay refuses.
            metrics.observe_tampering("decision")
            log.error("an idempotent retry found its stored decision altered", extra={
                "event": "record_altered", "decision_id": row.id})
            raise Conflict(f"the decision {row.id} stored under this Idempotency-Key fails its integrity "
                           "check (edited since it was stored); it is not answered", code="record_altered")
        return row

    def _decide_and_store(self, policy: Policy, request: DecisionRequest, key: str | None,
                          request_fingerprint: str) -> tuple[DecisionRecord, records.MadeDecision]:
        now = self.clock()
        decision_date = business_date(now)
        # champion/challenger: the policy that answers (a split may send it to the challenger)
        routed = challengers.route(self.registry, self.personal, policy, request.body)
        policy = routed.policy
        # The application's velocity event: one per Idempotency-Key (a retry counts once), else the
        # decision's own id, made now: both are on the stored row, so a rebuild of the anti-fraud
        # memory from stored decisions writes the same member (app/services/velocity_rebuild.py)
        decision_id = records.new_decision_id(now)
        event = key or decision_id
        shared = (None if self.velocity is None or not policy.parts.shared else
                  lambda typed: self.velocity.lookup(policy, typed, event, now))
        try:
            made = records.make(policy, request.body, decision_date, now, shared)
        except InputError as error:
            raise InvalidInput("the application does not match the policy's input schema",
                               details=error.errors) from None
        row = records.to_row(made, personal=self.personal, now=now, decision_date=decision_date,
                             caller=request.caller, request_id=request.request_id,
                             idempotency_key=key, request_fingerprint=request_fingerprint,
                             arm=routed.arm, decision_id=decision_id)
        try:
            self.policy_store.record(policy)  # a stored decision always names a stored version
            with self.database.connection() as connection:  # one INSERT and its COMMIT: no ORM session
                decisions.insert(connection, row)
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            log.error("decision not stored: database unavailable",
                      extra={"event": "store_failed", "error": type(error).__name__})
            raise Unavailable("the decision could not be stored; no decision was made") from None
        if self.velocity is not None and policy.parts.shared:
            self.velocity.remember(policy, made.typed, made.decision, row.id, now)
        if routed.shadow is not None:  # stored beside the champion's; never changes the answer
            trace = made.decision.trace  # the champion's shared values: the application counts once
            shadow = challengers.shadow_row(routed.shadow, row, request.body, personal=self.personal,
                                            now=now, decision_date=decision_date,
                                            caller=request.caller, request_id=request.request_id,
                                            shared=SharedInput(trace.shared_values(), dict(trace.sources)))
            if shadow is not None:
                challengers.store_shadow(self.database, self.policy_store, routed.shadow, shadow)
        return row, made


def _refuse_unbound(policy: Policy, request: DecisionRequest) -> None:
    """A key bound to input values (a partner's key: device.channel=PARTNER) sends those or is
    refused before anything is counted or decided: the channel decides caps and rules, and a
    partner that could say BANK_APP would lend past the partner channel's cap. A field the policy
    does not declare cannot be sent to it at all (validation refuses it), so no binding applies."""
    for path, allowed in request.caller.binds:
        if path not in policy.input_schema.fields:
            continue
        value = path_value(request.body, path)
        if value not in allowed:
            raise Forbidden(f"the key {request.caller.name} may send {path} only as {' or '.join(allowed)}",
                            code="field_not_allowed",  # the value sent is not echoed: it may be personal
                            details={path: [f"must be {' or '.join(allowed)} for this key"]})


def _other_body() -> Conflict:
    return Conflict("this Idempotency-Key was already used with a different request body",
                    code="idempotency_conflict")
