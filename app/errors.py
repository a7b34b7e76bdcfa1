"""The one JSON error envelope, and handlers so that no client input ends in an HTML page or a 500."""
from flask import jsonify, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error answer: HTTP status, a stable code, a message and optional details."""

    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


def error_response(status, code, message, details=None, headers=None):
    """Build the JSON error envelope used by every route."""
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    request_id = getattr(request, "firefly_request_id", None) if request else None
    if request_id:
        body["error"]["request_id"] = request_id
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
               413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_input",
               429: "too_many_requests", 503: "unavailable"}


def _handle_api_error(error):
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def _handle_http(error):
    code = _HTTP_CODES.get(error.code, "http_error")
    headers = {}
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(error.code, code, error.description or error.name, headers=headers)


def _handle_database_down(error):
    from flask import current_app

    from app.storage.db import rollback_request_session
    try:
        rollback_request_session()
    except Exception:  # the connection is gone; the session is discarded at teardown
        pass
    current_app.logger.error("database unavailable", extra={"event": "database_unavailable",
                                                            "error": type(error).__name__})
    return error_response(503, "unavailable", "the database is unavailable; nothing was stored",
                          headers={"Retry-After": "1"})


def _handle_unexpected(error):
    from app.storage.db import rollback_request_session
    rollback_request_session()
    from flask import current_app
    current_app.logger.exception("unhandled error", extra={"event": "unhandled_error"})
    return error_response(500, "internal_error", "internal error; the request id identifies it in the logs")


def init_app(app):
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(DBAPIError, _handle_database_down)
    app.register_error_handler(SQLAlchemyTimeout, _handle_database_down)
    app.register_error_handler(Exception, _handle_unexpected)
