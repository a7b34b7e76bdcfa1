"""Human decisions on a stored decision: an underwriter closes a REFER; an applicant's request for an
explanation or a human review (PIPL art. 24) and its answer are recorded."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from marshmallow import Schema, ValidationError

from app.api.auth import caller, require_role
from app.api.body import json_object
from app.api.errors import ApiError
from app.api.requests import request_id
from app.api.schemas import ApplicantRequestBody, RequestAnswerBody, ReviewBody
from app.extensions import services
from app.services.reviews import Review

bp = Blueprint("reviews", __name__, url_prefix="/v1/decisions")


def _load(schema: Schema) -> dict[str, Any]:
    try:
        return schema.load(json_object())
    except ValidationError as error:
        raise ApiError(400, "invalid_body", "the body is invalid", details=error.messages)


def _created(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.post("/<decision_id:decision_id>/review")
@require_role("underwriter")
def review_decision(decision_id: str) -> Response:
    """Close a referred application with the final outcome, limit, reason codes and comment."""
    body = _load(ReviewBody())
    review = Review(body["outcome"], body.get("limit"), tuple(body["reason_codes"]), body["comment"])
    return _created(services().reviews.close_referral(decision_id, review, caller(), request_id()))


@bp.post("/<decision_id:decision_id>/requests")
@require_role("compliance", "underwriter")
def record_applicant_request(decision_id: str) -> Response:
    """Record an applicant's request for an explanation or a human review (PIPL art. 24)."""
    body = _load(ApplicantRequestBody())
    return _created(services().reviews.record_request(decision_id, body["kind"], body["text"], caller(),
                                                      body.get("received_at"), request_id()))


@bp.post("/<decision_id:decision_id>/requests/<request_ref>/answer")
@require_role("compliance", "underwriter")
def answer_applicant_request(decision_id: str, request_ref: str) -> Response:
    """Record the answer given to an applicant's request."""
    body = _load(RequestAnswerBody())
    return _created(services().reviews.answer_request(decision_id, request_ref, body["answer"], caller(),
                                                      request_id()))
