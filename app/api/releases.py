"""/v1/releases: submit a policy release, approve or reject it (never one's own), activate it or roll
back; every worker then serves the active release (docs/controls.md)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, ValidationError

from app.api.auth import caller, require_role
from app.api.body import json_object
from app.api.errors import ApiError
from app.api.requests import request_id
from app.api.schemas import DiffQuery, ReasonBody, ReleaseSubmit
from app.extensions import services
from app.services.releases import MAX_RELEASE_BYTES, ReleaseFiles

bp = Blueprint("releases", __name__, url_prefix="/v1/releases")
READERS = ("author", "approver", "admin", "compliance")


def _load(schema: Schema, data: dict[str, Any], what: str) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(400, "invalid_body" if what == "body" else "invalid_query",
                       f"the release {what} is invalid", details=error.messages)


def _followed(body: dict[str, Any]) -> Response:
    """After an activation or rollback: this worker serves it now, the others are asked to (and
    find it by their poll anyway)."""
    registry = services().registry
    registry.reload()
    if registry.announce is not None:
        registry.announce()
    return jsonify(body)


@bp.post("")
@require_role("author", "approver")
def submit_release() -> Response:
    """Submit files as a release: checked and rule-tested now, the report stored with it."""
    request.max_content_length = MAX_RELEASE_BYTES
    body = _load(ReleaseSubmit(), json_object(), "body")
    release = services().releases.submit(ReleaseFiles.from_mapping(body["files"]), caller(), body["reason"],
                                         request_id())
    response = jsonify(release)
    response.status_code = 201
    return response


@bp.get("")
@require_role(*READERS)
def list_releases() -> Response:
    """Every release with its state."""
    return jsonify(items=services().releases.list())


@bp.get("/<ref>")
@require_role(*READERS)
def get_release(ref: str) -> Response:
    """One release: its state, check report and events."""
    return jsonify(services().releases.get(ref))


@bp.get("/<ref>/diff")
@require_role(*READERS)
def diff_release(ref: str) -> Response:
    """Files and rule ids added, removed and changed against another release (default: the active one)."""
    query = _load(DiffQuery(), request.args.to_dict(), "query")
    return jsonify(services().releases.diff(ref, query.get("against")))


@bp.post("/<ref>/approve")
@require_role("approver")
def approve_release(ref: str) -> Response:
    """Approve a submitted release that passed its checks (not one's own)."""
    body = _load(ReasonBody(), json_object(), "body")
    return jsonify(services().releases.approve(ref, caller(), body["reason"], request_id()))


@bp.post("/<ref>/reject")
@require_role("approver")
def reject_release(ref: str) -> Response:
    """Reject a submitted release."""
    body = _load(ReasonBody(), json_object(), "body")
    return jsonify(services().releases.reject(ref, caller(), body["reason"], request_id()))


@bp.post("/<ref>/activate")
@require_role("approver", "admin")
def activate_release(ref: str) -> Response:
    """Make an approved release the one every worker serves."""
    body = _load(ReasonBody(), json_object(), "body")
    return _followed(services().releases.activate(ref, caller(), body["reason"], request_id()))


@bp.post("/rollback")
@require_role("approver", "admin")
def rollback_release() -> Response:
    """Activate again the release active before the current one."""
    body = _load(ReasonBody(), json_object(), "body")
    return _followed(services().releases.rollback(caller(), body["reason"], request_id()))
