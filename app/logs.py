"""JSON logs, one object per line; personal data never goes in. (The API adds the request id and
writes the access log: app/api/requests.py.)"""
from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object; extra fields given to the logger are kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime


def level_named(name: str | None, default: int) -> int:
    """A level from its name (FIREFLY_LOG_LEVEL=debug|info|warning|error), else the default."""
    level = logging.getLevelName((name or "").upper())
    return level if isinstance(level, int) else default


def configure_once(level: int) -> None:
    """JSON lines on stderr at `level`, unless the process has JSON logging already (gunicorn's
    logconfig_dict sets it up before the app is built): then only the level."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level)
    else:
        configure(level)


def configure(level: int = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
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
