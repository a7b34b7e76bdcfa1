"""Per request: the request id (X-Request-Id, made up when the caller sends none), the JSON access
log line and the request counter. The path is logged without its query string: a search may carry
an applicant's ID number."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request

from app import metrics

access_log = logging.getLogger("firefly.access")


def _start_request() -> None:
    supplied = request.headers.get("X-Request-Id", "")
    ok = 0 < len(supplied) <= 64 and all(c.isalnum() or c in "-_." for c in supplied)
    request.firefly_request_id = supplied if ok else uuid.uuid4().hex  # type: ignore[attr-defined]
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-Id"] = request.firefly_request_id  # type: ignore[attr-defined]
    principal = g.get("principal")
    access_log.info("request", extra={
        "request_id": request.firefly_request_id,  # type: ignore[attr-defined]
        "method": request.method, "path": request.path, "status": response.status_code,
        "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        "key": principal.name if principal else None})
    route = request.url_rule.rule if request.url_rule else "unmatched"
    metrics.observe_request(request.method, route, response.status_code)
    return response


def request_id() -> str:
    return request.firefly_request_id  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.logger.handlers.clear()
    app.logger.propagate = True
    app.before_request(_start_request)
    app.after_request(_finish_request)
