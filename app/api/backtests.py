"""Backtests: stored traffic re-decided on a candidate, as a background job with status and result
routes. Roles author (policy staff trying a change) and compliance."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.api.auth import caller, require_role
from app.api.body import json_object
from app.api.errors import ApiError
from app.api.schemas import reject_nul
from app.extensions import services
from app.services.backtest import BacktestRequest, Candidate

bp = Blueprint("backtests", __name__, url_prefix="/v1/backtests")
ROLES = ("author", "compliance")


class CandidateIn(Schema):
    """Exactly one of: changed files laid over the served version's, a stored version's hash
    prefix, its version string, or a release by id or content hash."""

    class Meta:
        unknown = RAISE

    files = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=300)),
                        values=fields.String(), validate=validate.Length(min=1, max=50))
    hash = fields.String(validate=validate.Regexp(r"^[0-9a-f]{4,64}$"))
    version = fields.String(validate=validate.Length(min=1, max=100))
    release = fields.String(validate=validate.Regexp(r"^[0-9a-f]{6,64}$"))

    @validates_schema
    def _one(self, data: dict, **_: object) -> None:
        if len([k for k in ("files", "hash", "version", "release") if k in data]) != 1:
            raise ValidationError("give exactly one of files, hash, version, release", "_schema")


class BacktestIn(Schema):
    class Meta:
        unknown = RAISE

    policy = fields.String(required=True, validate=validate.Length(min=1, max=200))
    candidate = fields.Nested(CandidateIn, required=True)
    created_from = fields.AwareDateTime(load_default=None, default_timezone=None)
    created_to = fields.AwareDateTime(load_default=None, default_timezone=None)

    @validates_schema
    def _no_nul(self, data: dict, **_: object) -> None:
        reject_nul(data)


class BacktestOut(Schema):
    backtest_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["queued", "running", "done", "failed"]))
    created_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)
    requested_by = fields.String()
    policy = fields.String()
    candidate = fields.Dict()
    selection = fields.Dict()
    decided = fields.Integer(metadata={"description": "rows re-decided so far"})
    error = fields.String(allow_none=True)
    changed = fields.Integer(allow_none=True)
    heartbeat_at = fields.DateTime(allow_none=True, metadata={
        "description": "the worker's last sign of life; silent longer than the lease (60 s): failed"})
    worker = fields.String(allow_none=True, metadata={"description": "host:pid of the process running it"})


@bp.post("")
@require_role(*ROLES)
def start_backtest() -> tuple[Response, int, dict[str, str]]:
    """Start a backtest job; 202 with its status and where to poll."""
    try:
        body = BacktestIn().load(json_object())
    except ValidationError as error:
        raise ApiError(400, "invalid_body", "the backtest request is invalid", details=error.messages)
    job = services().backtesting.start(BacktestRequest(
        policy=body["policy"], candidate=Candidate(**body["candidate"]),
        created_from=body["created_from"], created_to=body["created_to"]), requested_by=caller().name)
    location = url_for("backtests.get_backtest", backtest_id=job["backtest_id"])
    return jsonify(job), 202, {"Location": location}


@bp.get("/<backtest_id>")
@require_role(*ROLES)
def get_backtest(backtest_id: str) -> Response:
    """A backtest's status and progress."""
    return jsonify(services().backtesting.job(backtest_id))


@bp.post("/<backtest_id>/rerun")
@require_role(*ROLES)
def rerun_backtest(backtest_id: str) -> tuple[Response, int, dict[str, str]]:
    """Run a failed backtest again as a new job (the same candidate and period); 202 and where to poll."""
    job = services().backtesting.rerun(backtest_id, requested_by=caller().name)
    return jsonify(job), 202, {"Location": url_for("backtests.get_backtest", backtest_id=job["backtest_id"])}


@bp.get("/<backtest_id>/report")
@require_role(*ROLES)
def get_backtest_report(backtest_id: str) -> Response:
    """The finished backtest's report (report.json); 409 while it runs."""
    report, _ = services().backtesting.job_report(backtest_id)
    return jsonify(report)


@bp.get("/<backtest_id>/changes")
@require_role(*ROLES)
def get_backtest_changes(backtest_id: str) -> Response:
    """Every changed decision of the finished backtest, with both reason lists and the rules whose match changed."""
    _, changes = services().backtesting.job_report(backtest_id)
    return jsonify(items=changes)


@bp.get("/<backtest_id>/report.html")
@require_role(*ROLES)
def get_backtest_page(backtest_id: str) -> Response:
    """The finished backtest's report as one self-contained HTML page."""
    return Response(services().backtesting.job_page(backtest_id), mimetype="text/html")

