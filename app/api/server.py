"""What gunicorn itself answers and logs, made to match the API (gunicorn.conf.py names these):

- a request gunicorn rejects before the app sees it (431 headers too large, 400 bad framing, 414)
  gets the JSON error envelope instead of gunicorn's HTML page;
- the access log is one JSON object per line built with json.dumps, so a quote, a backslash or a
  newline in a path or a user agent can neither break the line nor forge another one;
- a request body is read under a deadline (FIREFLY_READ_TIMEOUT): a client that announces more
  than it sends holds a worker thread for seconds, not minutes (the app answers 408);
- an answer the app marks Connection: close (408, 413, a body that could not be read) closes the
  connection: gunicorn drops an app's Connection header (hop-by-hop) and kept the connection open,
  answering "Connection: keep-alive" after a body it never read whole.
"""
from __future__ import annotations

import json
import os
import traceback
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

from app.privacy import path_for_log

# The error codes of the API's envelope (app/api/errors.py) for what gunicorn rejects.
GUNICORN_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
                  431: "request_header_fields_too_large", 500: "internal_error", 501: "not_implemented"}


def json_error(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 error response with the JSON envelope (ASCII-escaped: the message may
    quote the client's malformed bytes)."""
    body = json.dumps({"error": {"code": GUNICORN_CODES.get(status, "bad_request"),
                                 "message": f"{reason}: {message}" if message else reason}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, json_error(int(status_int), str(reason), str(mesg)))


# gunicorn writes its own rejections with util.write_error (an HTML page): answer JSON instead.
util.write_error = _write_json_error


_process_headers = wsgi.Response.process_headers


def _process_headers_closing(self: Any, headers: Any) -> None:
    """The app's headers, as gunicorn takes them, except that Connection: close (which gunicorn
    drops, a hop-by-hop header) closes the connection after the answer (the OpenAPI document says
    so of 408: app/api/openapi.py)."""
    if any(str(name).lower() == "connection" and "close" in [v.strip() for v in str(value).lower().split(",")]
           for name, value in headers):
        self.force_close()
    _process_headers(self, headers)


wsgi.Response.process_headers = _process_headers_closing


def access_entry(atoms: dict[str, Any]) -> str:
    """The access log line: the path without its query string (a search may carry an ID number),
    a line id in it masked."""
    return json.dumps({"logger": "gunicorn.access", "remote": atoms.get("h"), "method": atoms.get("m"),
                       "path": path_for_log(atoms.get("U")), "status": atoms.get("s"), "bytes": atoms.get("B"),
                       "ms": atoms.get("M"), "request_id": atoms.get("{x-request-id}o"),
                       "agent": atoms.get("a")}, ensure_ascii=False)


class JsonLogger(Logger):
    """gunicorn's logger with the access line built by json.dumps instead of %-formatting."""

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        try:
            atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
            names = ("h", "m", "U", "s", "B", "M", "{x-request-id}o", "a")
            self.access_log.info(access_entry({name: atoms[name] for name in names}))
        except Exception:  # noqa: BLE001 - a log line must never fail a request
            self.error(traceback.format_exc())


class TimedThreadWorker(ThreadWorker):
    """gthread with a deadline on every read of a request's body: the socket times out after
    FIREFLY_READ_TIMEOUT seconds without data, and the app answers 408 (app/api/body.py)."""

    read_timeout = float(os.environ.get("FIREFLY_READ_TIMEOUT", "10"))

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.sock.settimeout(self.read_timeout)
        return super().handle_request(req, conn)
