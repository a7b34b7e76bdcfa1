"""marshmallow schemas of the API's queries and answers (the OpenAPI document is generated from these
and from each policy's own input schema)."""
from datetime import datetime, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.engine import OUTCOMES


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


class Reason(Schema):
    code = fields.String(required=True)
    zh = fields.String()
    en = fields.String()
    action = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    rule = fields.String(allow_none=True)


class DecisionOut(Schema):
    decision_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    decision_date = fields.Date(required=True)
    policy = fields.Nested(PolicyRef, required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    limit = fields.Integer(allow_none=True)
    customer_group = fields.String(allow_none=True)
    score = fields.Raw(allow_none=True)
    score_band = fields.String(allow_none=True)
    reasons = fields.List(fields.Nested(Reason), required=True)
    hits = fields.List(fields.String())
    trace = fields.Dict(metadata={"description": "present with ?trace=true and for the compliance role"})


class DecisionPage(Schema):
    items = fields.List(fields.Nested(DecisionOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class SearchQuery(Schema):
    """Filters of GET /v1/decisions; results are newest first, pages continue with `cursor`."""

    class Meta:
        unknown = RAISE

    created_from = fields.DateTime(metadata={"description": "created at or after (ISO 8601)"})
    created_to = fields.DateTime(metadata={"description": "created before (ISO 8601)"})
    policy = fields.String(validate=validate.Length(max=200))
    version = fields.String(validate=validate.Length(max=100))
    hash = fields.String(validate=validate.Length(max=64))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    group = fields.String(validate=validate.Length(max=50))
    reason = fields.String(validate=validate.Length(max=100), metadata={"description": "a reason code"})
    rule = fields.String(validate=validate.Length(max=100), metadata={"description": "a rule id that hit"})
    id_number = fields.String(validate=validate.Length(min=1, max=40),
                              metadata={"description": "applicant's resident ID (hashed on the way in)"})
    phone = fields.String(validate=validate.Length(min=1, max=40),
                          metadata={"description": "applicant's phone (hashed on the way in)"})
    channel = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    trace = fields.Boolean(load_default=False)

    @validates_schema
    def _no_nul(self, data: dict, **_kwargs: object) -> None:
        reject_nul(data)

    @validates_schema
    def _range(self, data: dict, **_kwargs: object) -> None:
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and _aware(start) > _aware(end):
            raise ValidationError("created_from must not be after created_to", "created_from")


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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ReplayRequest(Schema):
    """Replay on the stored version (empty body), or on another version named by hash or version."""

    class Meta:
        unknown = RAISE

    hash = fields.String(validate=validate.Regexp(r"^[0-9a-f]{6,64}$"),
                         metadata={"description": "a version's content hash, or its first 6 or more characters"})
    version = fields.String(validate=validate.Length(min=1, max=100))

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
    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())


class AuditQuery(Schema):
    """Filters of GET /v1/audit; newest first, pages continue with `cursor`."""

    class Meta:
        unknown = RAISE

    actor = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "an API key's name"})
    action = fields.String(validate=validate.Length(min=1, max=40),
                           metadata={"description": "decision.read, decision.search, decision.search_personal, "
                                                    "decision.replay, audit.search"})
    decision_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    created_from = fields.DateTime(metadata={"description": "at or after (ISO 8601)"})
    created_to = fields.DateTime(metadata={"description": "before (ISO 8601)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"))

    @validates_schema
    def _range(self, data: dict, **_kwargs: object) -> None:
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and _aware(start) > _aware(end):
            raise ValidationError("created_from must not be after created_to", "created_from")


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
                        validate=validate.Length(min=1, max=500))


class DiffQuery(Schema):
    class Meta:
        unknown = RAISE

    against = fields.String(validate=validate.Length(min=6, max=64),
                            metadata={"description": "the release to compare with (default: the active one)"})


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
