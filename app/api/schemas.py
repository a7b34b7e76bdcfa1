"""marshmallow schemas of the API's queries and answers (the OpenAPI document is generated from these
and from each policy's own input schema)."""
from datetime import datetime, timezone
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.services.lists import UNSHOWABLE
from app.services.reviews import CLOSING_OUTCOMES
from app.engine.model import OUTCOME_NAME


class TraceLevel(fields.Field):
    """`?trace=`: the trace level of an answer. `full`, `hits` (each rule set's matched rules only)
    or `none`; `true` and `1` mean `full`, `false` and `0` mean `none` (what the parameter took
    before it had levels)."""

    LEVELS = {"full": "full", "hits": "hits", "none": "none",
              "true": "full", "1": "full", "false": "none", "0": "none"}
    MESSAGE = "must be full, hits or none (true means full, false none)"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        level = self.LEVELS.get(value.lower()) if isinstance(value, str) else None
        if level is None:
            raise ValidationError(self.MESSAGE)
        return level


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw()
    request_id = fields.String()


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


class PolicyRef(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    hash = fields.String(required=True)
    engine = fields.String(required=True)


class CustomerText(Schema):
    zh = fields.String()
    en = fields.String()


class Reason(Schema):
    code = fields.String(required=True)
    zh = fields.String()
    en = fields.String()
    action = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    rule = fields.String(allow_none=True)
    customer = fields.Nested(CustomerText, metadata={"description": "the text the applicant is shown"})


class DecisionOut(Schema):
    decision_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    decision_date = fields.Date(required=True)
    policy = fields.Nested(PolicyRef, required=True)
    outcome = fields.String(required=True, validate=validate.Regexp(OUTCOME_NAME), metadata={
        "description": "one of the policy's outcomes: APPROVE, DECLINE or REFER unless the policy "
                       "declares its own (the review: NONE, WATCH, REDUCE, FREEZE, CALL)"})
    limit = fields.Integer(allow_none=True, required=True)
    customer_group = fields.String(allow_none=True, required=True)
    score = fields.Integer(allow_none=True, required=True)
    score_band = fields.String(allow_none=True, required=True)
    reasons = fields.List(fields.Nested(Reason), required=True)
    outputs = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                          metadata={"description": "the policy's outputs for this outcome (indicative_limit, price ...)"})
    trace = fields.Dict(metadata={"description": "present with ?trace=full (or hits: matched rules only) "
                                                 "and for the compliance role"})
    consent = fields.Dict(metadata={"description": "the PIPL consent and bureau authorisation ids the application carried"})
    record = fields.Dict(metadata={"description": "compliance reads: the entry's sequence number and whether the row is intact"})
    arm = fields.String(metadata={"description": "champion/challenger: champion, challenger or shadow"})
    granted_by = fields.String(metadata={"description": "a drawdown or review: the application decision that granted the line"})
    shadow_of = fields.String(metadata={"description": "a shadow decision: the champion decision it shadows"})
    shadow_id = fields.String(allow_none=True, metadata={
        "description": "a champion decision read by id: the shadow decision stored beside it"})


class DecisionPage(Schema):
    items = fields.List(fields.Nested(DecisionOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


# Text a caller may send in a query or path: no control characters (a NUL byte is no character
# PostgreSQL can store or compare, and a newline has no place in an id or a code).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# A list entry's reason and source, read by the checker on a terminal: the lists use case's check.
SHOWABLE = f"^[^{UNSHOWABLE}]*$"


def Text(max_length: int, min_length: int = 0, required: bool = False, **metadata: Any) -> fields.String:
    """A string of printable characters of at most `max_length` (the OpenAPI document says both)."""
    return fields.String(required=required,
                         validate=[validate.Length(min=min_length or None, max=max_length),
                                   validate.Regexp(PRINTABLE, error="must not hold control characters")],
                         metadata=metadata)


class UtcDateTime(fields.DateTime):
    """An ISO 8601 moment read as UTC (a naive one is UTC); a moment with an offset that leaves
    the calendar (9999-12-31T23:59:59-14:00) is invalid, not a server error."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:
            raise self.make_error("invalid", input=value, obj_type="datetime") from None


class LineHistory(Schema):
    line = fields.String(required=True, metadata={"description": "the line id, masked"})
    items = fields.List(fields.Nested(DecisionOut), required=True,
                        metadata={"description": "the granting application decision, then drawdowns and reviews, oldest first"})
    complete = fields.Boolean(required=True, metadata={"description": "false when the line has more decisions than one answer holds (1000)"})


class SearchQuery(Schema):
    """Filters of GET /v1/decisions; results are newest first, pages continue with `cursor`.
    A range whose start is after its end holds no decision (an empty page, not an error)."""

    class Meta:
        unknown = RAISE

    created_from = UtcDateTime(metadata={"description": "created at or after (ISO 8601)"})
    created_to = UtcDateTime(metadata={"description": "created before (ISO 8601)"})
    policy = Text(200)
    version = Text(100)
    hash = Text(64)
    outcome = fields.String(validate=validate.Regexp(OUTCOME_NAME),
                            metadata={"description": "an outcome of the policy (APPROVE, REDUCE ...)"})
    group = Text(50)
    reason = Text(100, description="a reason code")
    rule = Text(100, description="a rule id that hit")
    id_number = Text(40, min_length=1, description="applicant's resident ID (hashed on the way in)")
    phone = Text(40, min_length=1, description="applicant's phone (hashed on the way in)")
    channel = Text(100)
    consent_id = Text(100, min_length=1, description="the applicant's PIPL consent id")
    bureau_authorisation_id = Text(100, min_length=1, description="the credit-bureau query authorisation id")
    arm = fields.String(validate=validate.OneOf(("champion", "challenger", "shadow")),
                        metadata={"description": "champion/challenger arm"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    trace = TraceLevel(load_default="none")



def reject_nul(data: dict) -> None:
    """Text holding the NUL character is no code, name or id (PostgreSQL cannot even compare it):
    a 400 naming the field, not a database error."""
    bad = {name: ["must not contain the NUL character"] for name, value in data.items()
           if _holds_nul(value)}
    if bad:
        raise ValidationError(bad)


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


class ReplayRequest(Schema):
    """Replay on the stored version (empty body), or on another version named by hash or version."""

    class Meta:
        unknown = RAISE

    hash = fields.String(validate=validate.Regexp(r"^[0-9a-f]{6,64}$"),
                         metadata={"description": "a version's content hash, or its first 6 or more characters"})
    version = Text(100, min_length=1)

    @validates_schema
    def _one(self, data: dict, **_kwargs: object) -> None:
        if "hash" in data and "version" in data:
            raise ValidationError("give hash or version, not both", "_schema")


class Difference(Schema):
    path = fields.String(required=True)
    stored = fields.Raw(allow_none=True)
    replayed = fields.Raw(allow_none=True)


class ReplayOut(Schema):
    decision_id = fields.String(required=True)
    stored_policy = fields.Nested(PolicyRef, required=True)
    replayed_policy = fields.Nested(PolicyRef, required=True)
    identical = fields.Boolean(required=True)
    trace_identical = fields.Boolean(required=True)
    differences = fields.List(fields.Nested(Difference), required=True)
    replayed = fields.Dict(required=True)


class PolicyList(Schema):
    loaded_at = fields.DateTime(required=True)
    policies = fields.List(fields.Nested(PolicyRef), required=True)
    diagnostics = fields.List(fields.Dict())


class Health(Schema):
    status = fields.String(required=True, metadata={
        "description": "ok (/healthz); ready, degraded (deciding, an optional dependency down) or not ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String())
    degraded = fields.List(fields.String(), metadata={"description": "optional dependencies that are down"})


class AuditQuery(Schema):
    """Filters of GET /v1/audit; newest first, pages continue with `cursor`. A range whose start
    is after its end holds nothing (an empty page, not an error: the schema cannot say otherwise)."""

    class Meta:
        unknown = RAISE

    actor = Text(100, min_length=1, description="an API key's name")
    action = Text(40, min_length=1, description="decision.read, decision.export, decision.search, "
                                                "decision.search_personal, decision.replay, audit.search")
    decision_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    created_from = UtcDateTime(metadata={"description": "at or after (ISO 8601)"})
    created_to = UtcDateTime(metadata={"description": "before (ISO 8601)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"))


class AccessEventOut(Schema):
    id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    role = fields.String(required=True)
    action = fields.String(required=True)
    decision_ids = fields.List(fields.String(), required=True)
    details = fields.Dict(required=True)
    request_id = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True)
    intact = fields.Boolean(required=True, metadata={
        "description": "whether the event is what the service wrote (false: altered in the database)"})


class AccessEventPage(Schema):
    items = fields.List(fields.Nested(AccessEventOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ReasonBody(Schema):
    """Why: every release step records who, when and why."""

    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReleaseSubmit(ReasonBody):
    """The release's files, {relative path: text}, under policies/ and rules/ (rule tests included)."""

    files = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=300)),
                        values=fields.String(validate=validate.Length(max=1_000_000)), required=True,
                        validate=validate.Length(min=1, max=500),
                        metadata={"minProperties": 1, "maxProperties": 500,
                                  "description": "{path: text}; every path under policies/ or rules/"})


class DiffQuery(Schema):
    class Meta:
        unknown = RAISE

    against = Text(64, min_length=6, description="the release to compare with (default: the active one)")


class ReleaseOut(Schema):
    id = fields.String(required=True)
    content_hash = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(
        ["draft", "submitted", "approved", "rejected", "active", "retired"]))
    bootstrap = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    checks_passed = fields.Boolean(required=True)
    policies = fields.Dict(required=True)
    report = fields.Dict()
    events = fields.List(fields.Dict())


class ReleaseList(Schema):
    items = fields.List(fields.Nested(ReleaseOut), required=True)


class ReleaseDiff(Schema):
    to = fields.String(required=True)
    files = fields.Dict(required=True)
    rules = fields.Dict(required=True)


class ReviewBody(Schema):
    """An underwriter's final decision on a referred application."""

    class Meta:
        unknown = RAISE

    outcome = fields.String(required=True, validate=validate.OneOf(CLOSING_OUTCOMES))
    limit = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=10**12),
                           metadata={"description": "whole yuan; APPROVE only"})
    reason_codes = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                               validate=validate.Length(max=20))
    comment = fields.String(required=True, validate=validate.Length(max=4000))


class ApplicantRequestBody(Schema):
    """An applicant's request for an explanation or a human review of a decision (PIPL art. 24)."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(["explanation", "human_review"]))
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    received_at = fields.DateTime(metadata={"description": "when the applicant asked (default: now)"})


class RequestAnswerBody(Schema):
    class Meta:
        unknown = RAISE

    answer = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ReviewOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    actor = fields.String(required=True)
    role = fields.String(required=True)
    at = fields.DateTime(required=True)
    answers = fields.String(allow_none=True)
    intact = fields.Boolean(required=True, metadata={
        "description": "whether the note is what the service wrote (false: altered in the database)"})


class ComparisonQuery(Schema):
    """GET /v1/comparisons: the arms of a champion policy's experiment over decision dates. A
    period whose `from` is after its `to` holds no decision (an empty comparison, not an error:
    OpenAPI cannot say that one parameter must not pass another)."""

    class Meta:
        unknown = RAISE

    policy = Text(200, min_length=1, required=True, description="the champion policy")
    from_ = fields.Date(required=True, data_key="from", metadata={"description": "first decision date"})
    to = fields.Date(required=True, metadata={"description": "last decision date, included"})


# --- anti-fraud lists (issue 12) --------------------------------------------------------------
LIST_NAMES = ["blacklist", "watchlist", "whitelist"]
LIST_KINDS = ["resident_id", "phone", "device", "employer", "card"]


class ListEntryBody(Schema):
    """One list entry to add (or bring up to date): the value is stored only as its keyed hash."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(LIST_KINDS))
    value = fields.String(required=True, validate=validate.Length(min=1, max=100),
                          metadata={"description": "in clear here; stored as a keyed hash and a masked form "
                                                   "(a resident ID must pass its check digit: 422 otherwise)"})
    # shown to the checker, in the console and in `flask lists changes` (one change a line): no
    # tab, newline or escape sequence to forge a line or rewrite a terminal
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=200),
                                                    validate.Regexp(SHOWABLE, error="must not hold control characters")])
    source = fields.String(validate=[validate.Length(min=1, max=100),
                                     validate.Regexp(SHOWABLE, error="must not hold control characters")])
    expires = fields.Date(metadata={"description": "the last day the entry applies (Beijing time)"})


class ListEntryOut(Schema):
    id = fields.Integer(required=True)
    list = fields.String(required=True)
    kind = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "masked"})
    reason = fields.String(required=True)
    source = fields.String(required=True)
    added_by = fields.String(required=True)
    added_at = fields.String(required=True)
    expires_at = fields.String(allow_none=True, required=True)


class ListEntryResult(Schema):
    entry = fields.Nested(ListEntryOut, required=True)
    result = fields.String(required=True, validate=validate.OneOf(["added", "updated", "unchanged"]))


class ListPage(Schema):
    items = fields.List(fields.Nested(ListEntryOut), required=True)
    next_after = fields.Integer(allow_none=True, required=True)


class ListPageQuery(Schema):
    class Meta:
        unknown = RAISE

    after = fields.Integer(strict=False, validate=validate.Range(min=0, max=2**31 - 1))
    limit = fields.Integer(strict=False, load_default=100, validate=validate.Range(min=1, max=500))


class ListImportBody(Schema):
    """A CSV file (columns list, kind, value, reason; optionally source, expires) as text."""

    class Meta:
        unknown = RAISE

    csv = fields.String(required=True, validate=validate.Length(min=1, max=10_000_000))
    source = fields.String(validate=validate.Length(min=1, max=100))


class ListImportRejected(Schema):
    line = fields.Integer(required=True)
    message = fields.String(required=True)


class ListImportPending(Schema):
    line = fields.Integer(required=True)
    change = fields.Integer(required=True, metadata={"description": "the pending list change's id"})
    list = fields.String(required=True)
    kind = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "masked"})


class ListImportOut(Schema):
    added = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(ListImportRejected), required=True)
    pending = fields.List(fields.Nested(ListImportPending), required=True,
                          metadata={"description": "rows that relax a control: pending changes for a "
                                                   "second person to approve"})


class ListTerms(Schema):
    reason = fields.String(required=True)
    source = fields.String(required=True)
    expires_at = fields.String(allow_none=True, required=True)


class ListChangeOut(Schema):
    """A list change that relaxes a control, waiting for (or given) a second person's decision."""

    id = fields.Integer(required=True)
    action = fields.String(required=True, validate=validate.OneOf(["add", "remove"]))
    list = fields.String(required=True)
    kind = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "masked"})
    reason = fields.String(required=True)
    source = fields.String(required=True)
    expires_at = fields.String(allow_none=True, required=True)
    entry_id = fields.Integer(allow_none=True, required=True)
    before = fields.Nested(ListTerms, allow_none=True, required=True,
                           metadata={"description": "the entry when the change was proposed (none: a new entry)"})
    maker = fields.String(required=True)
    made_at = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["pending", "approved", "rejected"]))
    checker = fields.String(allow_none=True, required=True)
    decided_at = fields.String(allow_none=True, required=True)
    decision_reason = fields.String(allow_none=True, required=True)


class ListChangeDone(ListChangeOut):
    applied = fields.Dict(metadata={"description": "what the approval did: the entry, added/updated/removed"})


class ListChangePending(Schema):
    result = fields.String(required=True, validate=validate.OneOf(["pending"]))
    change = fields.Nested(ListChangeOut, required=True)


class ListChangePage(Schema):
    items = fields.List(fields.Nested(ListChangeOut), required=True)
    next_after = fields.Integer(allow_none=True, required=True)


class ListChangeQuery(Schema):
    class Meta:
        unknown = RAISE

    state = fields.String(load_default="pending",
                          validate=validate.OneOf(["pending", "approved", "rejected", "all"]))
    after = fields.Integer(strict=False, validate=validate.Range(min=0, max=2**31 - 1))
    limit = fields.Integer(strict=False, load_default=100, validate=validate.Range(min=1, max=500))
