"""JSON logs, one object per line, each with the request id; personal data never goes in."""
import json
import logging
import sys
import time
import uuid

from flask import g, request

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object; extra fields given to the logger are kept."""

    def format(self, record):
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime


def configure(level=logging.INFO, stream=None):
    """Send the root logger to a stream (stderr by default) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing.formatter, JsonFormatter):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return handler


def _start_request():
    supplied = request.headers.get("X-Request-Id", "")
    ok = 0 < len(supplied) <= 64 and all(c.isalnum() or c in "-_." for c in supplied)
    request.firefly_request_id = supplied if ok else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish_request(response):
    response.headers["X-Request-Id"] = request.firefly_request_id
    principal = g.get("principal")
    # The path only: query strings may carry an applicant's ID number in a search.
    logging.getLogger("firefly.access").info(
        "request", extra={"request_id": request.firefly_request_id, "method": request.method,
                          "path": request.path, "status": response.status_code,
                          "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                          "key": principal.name if principal else None})
    return response


def init_app(app):
    if not app.config.get("TESTING") and not any(isinstance(h.formatter, JsonFormatter)
                                                 for h in logging.getLogger().handlers):
        configure()
    app.json.sort_keys = False
    app.logger.handlers.clear()
    app.logger.propagate = True
    app.before_request(_start_request)
    app.after_request(_finish_request)
