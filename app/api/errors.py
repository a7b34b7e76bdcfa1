"""The one JSON error envelope, and the handlers that turn every failure into it: domain errors by
their class, HTTP errors by their status, a database that is down as 503, anything else as a 500
that names the request id. No client input ends in an HTML page."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from werkzeug.exceptions import HTTPException

from app.services.errors import (Conflict, Forbidden, InvalidInput, NotFound, ServiceError, TooManyAttempts,
                                 Unavailable)

log = logging.getLogger("firefly.api")

# Domain errors -> HTTP status; a code whose status differs from its class's says so here.
STATUS_BY_ERROR = {NotFound: 404, Conflict: 409, InvalidInput: 422, Unavailable: 503, Forbidden: 403,
                   TooManyAttempts: 429}
STATUS_BY_CODE = {"invalid_idempotency_key": 400}  # a malformed header is the request's syntax

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
               413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_input",
               429: "too_many_requests", 503: "unavailable"}


class ApiError(Exception):
    """An error of the HTTP interface itself (authentication, a malformed body or query)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The JSON error envelope used by every route."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    request_id = _request_id()
    if request_id:
        body["error"]["request_id"] = request_id
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def _handle_service_error(error: ServiceError) -> Response:
    status = STATUS_BY_CODE.get(error.code) or next(
        (status for kind, status in STATUS_BY_ERROR.items() if isinstance(error, kind)), 500)
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return error_response(status, error.code, error.message, error.details, headers)


def _handle_http(error: HTTPException) -> Response:
    code = _HTTP_CODES.get(error.code or 500, "http_error")
    headers = {}
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(error.code or 500, code, error.description or error.name, headers=headers)


def _request_id() -> str | None:
    return getattr(request, "firefly_request_id", None) if request else None


def _handle_database_down(error: Exception) -> Response:
    log.error("database unavailable", extra={"event": "database_unavailable", "request_id": _request_id(),
                                             "error": type(error).__name__})
    return error_response(503, "unavailable", "the database is unavailable; nothing was stored",
                          headers={"Retry-After": "1"})


def _handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"event": "unhandled_error", "request_id": _request_id()})
    return error_response(500, "internal_error", "internal error; the request id identifies it in the logs")


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(ServiceError, _handle_service_error)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(DBAPIError, _handle_database_down)
    app.register_error_handler(SQLAlchemyTimeout, _handle_database_down)
    app.register_error_handler(Exception, _handle_unexpected)
