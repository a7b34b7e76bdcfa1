"""Per request: the request id (X-Request-Id, made up when the caller sends none), the JSON access
log line and the request counter. The path is logged without its query string: a search may carry
an applicant's ID number; a line id in a path is masked."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request
from werkzeug.routing import BaseConverter

from app import metrics
from app.privacy import path_for_log
from app.api.errors import ApiError

access_log = logging.getLogger("firefly.access")


def _start_request() -> None:
    supplied = request.headers.get("X-Request-Id", "")
    ok = 0 < len(supplied) <= 64 and all(c.isalnum() or c in "-_." for c in supplied)
    request.firefly_request_id = supplied if ok else uuid.uuid4().hex  # type: ignore[attr-defined]
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-Id"] = request.firefly_request_id  # type: ignore[attr-defined]
    if request.path.startswith("/v1/") and "Cache-Control" not in response.headers:
        # every answer of the API is for its caller alone, and many hold decisions and personal
        # data: no browser (the explorer at /docs) or proxy keeps a copy
        response.headers["Cache-Control"] = "no-store"
    principal = g.get("principal")
    access_log.info("request", extra={
        "request_id": request.firefly_request_id,  # type: ignore[attr-defined]
        "method": request.method, "path": path_for_log(request.path), "status": response.status_code,
        "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        "key": principal.name if principal else None})
    route = request.url_rule.rule if request.url_rule else "unmatched"
    metrics.observe_request(request.method, route, response.status_code)
    return response


class DecisionId(BaseConverter):
    """A decision id in a path: 32 lower-case hex digits (app/services/records.py makes them)."""

    regex = "[0-9a-f]{32}"


class LineId(BaseConverter):
    """A credit line's id in a path (letters, digits and '-'; personal data, masked in the logs)."""

    regex = "[0-9A-Za-z-]{1,64}"


class PolicyName(BaseConverter):
    """A policy name in a path: anything but a decision id, so /v1/decisions/<x> is either a
    decision (GET) or a policy to decide with (POST), and Allow names only what that path serves."""

    regex = "(?![0-9a-f]{32}(?![^/]))[^/]+"


def only_query(*allowed: str) -> None:
    """Refuse query parameters the route does not take (400 naming them): a typo such as
    `?trase=true` must not be ignored in silence."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise ApiError(400, "invalid_query", "unknown query parameters",
                       details={name: ["Unknown field."] for name in unknown})


def request_id() -> str:
    return request.firefly_request_id  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    app.url_map.converters.update(decision_id=DecisionId, policy_name=PolicyName, line_id=LineId)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.logger.handlers.clear()
    app.logger.propagate = True
    app.before_request(_start_request)
    app.after_request(_finish_request)
