"""Fast faults (in `make test`): the real server against hostile clients. Oversized chunked
bodies are 413, a client that announces more than it sends is cut off after the read timeout (408)
without starving others, gunicorn's own rejections answer the JSON error envelope as /openapi.json
documents them, and every access log line is one valid JSON object whatever the path holds."""
import json
import socket
import threading

import jsonschema_rs
import pytest
import requests

from support.applicants import examples
from support.http import URL
from support.keys import KEYS
from support.server import Gunicorn, wait_for

LIMIT = 4096  # FIREFLY_MAX_BODY_BYTES of this server


@pytest.fixture
def server(database_url, redis_url, clean_state, tmp_path):
    gunicorn = Gunicorn(tmp_path, database_url, redis_url, FIREFLY_MAX_BODY_BYTES=str(LIMIT),
                        FIREFLY_READ_TIMEOUT="1", FIREFLY_WORKERS="1", FIREFLY_THREADS="4").start()
    yield gunicorn
    gunicorn.stop()


def head(method, path, extra=b""):
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEYS['channel']}\r\n"
            f"Content-Type: application/json\r\nConnection: close\r\n").encode() + extra


def status_and_error(answer: bytes):
    header, _, body = answer.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    assert b"application/json" in header, answer[:400]
    return status, json.loads(body)["error"]


def read_all(sock):
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def chunked(payload: bytes, size=1000):
    parts = [payload[i:i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_chunked_body_over_the_limit_is_413(server):
    body = json.dumps(list(examples().values())[0]).encode()
    oversized = body[:-1] + b"," + b" " * LIMIT + b'"x": 1}'
    answer = server.raw(head("POST", URL, b"Transfer-Encoding: chunked\r\n\r\n") + chunked(oversized))
    assert status_and_error(answer)[0] == 413
    fits = server.raw(head("POST", URL, b"Transfer-Encoding: chunked\r\n\r\n") + chunked(body))
    assert fits.startswith(b"HTTP/1.1 201"), fits[:300]


def test_a_body_with_trailing_garbage_is_never_decided(server):
    body = json.dumps(list(examples().values())[0]).encode() + b" garbage"
    answer = server.raw(head("POST", URL, b"Transfer-Encoding: chunked\r\n\r\n") + chunked(body))
    assert status_and_error(answer)[0] == 400


def test_a_client_that_announces_more_than_it_sends_is_cut_off_and_others_are_served(server):
    answers = []

    def slow():
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(head("POST", URL, b"Content-Length: 3000\r\n\r\n") + b'{"a":1')
            answers.append(read_all(sock))

    slow_clients = [threading.Thread(target=slow) for _ in range(8)]  # twice the worker's threads
    for thread in slow_clients:
        thread.start()
    normal = requests.post(server.base + URL, json=list(examples().values())[0],
                           headers={"X-API-Key": KEYS["channel"]}, timeout=60)
    assert normal.status_code == 201
    for thread in slow_clients:
        thread.join(60)
    assert len(answers) == 8
    assert {status_and_error(a)[0] for a in answers} == {408}


def test_gunicorn_rejections_answer_the_json_envelope(server):
    too_large = head("GET", "/healthz", b"X-Big: " + b"a" * 9000 + b"\r\n\r\n")
    status, error = status_and_error(server.raw(too_large))
    assert status in (400, 431) and error["code"] in ("bad_request", "request_header_fields_too_large")
    bad_chunk = head("POST", URL, b"Transfer-Encoding: chunked\r\n\r\n") + b"zz\r\nabc\r\n0\r\n\r\n"
    status, error = status_and_error(server.raw(bad_chunk))
    assert status == 400 and error["code"] == "malformed_body"
    bad_line = b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"
    status, error = status_and_error(server.raw(bad_line))
    assert status == 400


def as_documented(document, method, path, answer: bytes):
    """The status of a raw answer, checked as the fixture `answers_as_documented` (tests/api/conftest.py)
    checks the app's: documented for the operation, with the error envelope and every header the
    document requires (with its documented value); and the body valid against that schema."""
    head_, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head_.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    documented = document["paths"][path][method]["responses"].get(str(status))
    assert documented is not None, f"{method.upper()} {path}: {status} not documented"
    schema = documented["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}, (status, schema)
    assert headers.get("content-type") == "application/json", answer[:400]
    for name, header in documented.get("headers", {}).items():
        if header.get("required"):
            assert name.lower() in headers, f"{status} without its {name} header: {answer[:400]!r}"
        if name.lower() in headers and "enum" in header["schema"]:
            assert headers[name.lower()] in header["schema"]["enum"], (status, name, headers[name.lower()])
    content = json.loads(body)
    jsonschema_rs.validate({**schema, "components": document["components"]}, content)
    return status, headers, content["error"]


def test_gunicorn_rejections_are_answered_as_the_document_says(server):
    """A request line too long (414), a header too large (431) and a malformed request line (400)
    sent to the decision route: gunicorn answers each before the app, with the status, envelope
    and Connection: close /openapi.json lists for that operation, and closes the connection (read
    to its end well within keepalive, 5 s). So does the app's 408 for a body that stops coming."""
    document = requests.get(server.base + "/openapi.json", timeout=30).json()
    sent = {
        414: f"POST {URL}?trace={'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        431: head("POST", URL, b"X-Big: " + b"a" * 9000 + b"\r\n\r\n"),
        400: f"POST {URL}\r\nHost: x\r\n\r\n".encode(),  # no HTTP version: not a request line
        # a client keeping its connection (no Connection: close) whose body stops coming
        408: head("POST", URL, b"Content-Length: 3000\r\n\r\n").replace(b"Connection: close\r\n", b"")
        + b'{"a":1',
    }
    codes = {414: "uri_too_long", 431: "request_header_fields_too_large", 400: "bad_request",
             408: "request_timeout"}
    for expected, request in sent.items():
        answer = server.raw(request, timeout=4)  # past keepalive (5 s) a kept connection would time out
        status, headers, error = as_documented(document, "post", URL, answer)
        assert (status, error["code"]) == (expected, codes[expected]), answer[:400]
        assert headers["connection"] == "close", answer[:400]


def test_every_access_log_line_is_one_json_object(server):
    forged = "/x%0A%7B%22forged%22%3Atrue%2C%22status%22%3A%22200%22%7D%22%5C"  # /x\n{"forged":true,...}"\\
    server.raw(head("GET", forged, b"User-Agent: a\"b\\c\r\n\r\n"))
    server.raw(head("GET", "/healthz", b"X-Big: " + b"a" * 9000 + b"\r\n\r\n"))
    requests.get(server.base + "/healthz", timeout=10)
    wait_for(lambda: "forged" in server.stdout.read_text(), "the access log line of the forged path")
    lines = server.stdout.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line parses
    assert not any("forged" in entry for entry in entries)
    assert any(entry["path"].startswith("/x\n") and "forged" in entry["path"] for entry in entries), entries
    for line in server.stderr.read_text().splitlines():
        json.loads(line)


SEARCH = ["policy", "version", "hash", "outcome", "group", "reason", "rule", "id_number", "phone",
          "channel", "created_from", "created_to", "limit", "cursor"]
HOSTILE = ["a\x00b", "\x00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9" * 400,
           "-1", "\n", "%", "\ud7ff", "1e999999"]


def _header(value):
    """The value as header bytes a client can send (a newline would end the header: \x01 instead)."""
    return value.replace("\n", "\x01").encode("utf-8", "replace").decode("latin-1")


def test_nul_bytes_and_extreme_values_in_every_parameter_are_never_a_5xx(server):
    compliance = {"X-API-Key": KEYS["compliance"]}
    statuses = []
    for name in SEARCH:
        for value in HOSTILE:
            statuses.append(requests.get(server.base + "/v1/decisions", params={name: value},
                                         headers=compliance, timeout=30).status_code)
    for value in HOSTILE:
        quoted = requests.utils.quote(value, safe="")
        statuses.append(requests.get(f"{server.base}/v1/decisions/{quoted}", headers=compliance,
                                     timeout=30).status_code)
        statuses.append(requests.post(f"{server.base}/v1/decisions/{quoted}/replay", headers=compliance,
                                      json={"version": value}, timeout=30).status_code)
        statuses.append(requests.post(f"{server.base}/v1/decisions/{'0' * 32}/replay", headers=compliance,
                                      json={"version": value}, timeout=30).status_code)
        statuses.append(requests.post(f"{server.base}{URL}", timeout=30, headers={
            "X-API-Key": KEYS["channel"], "Idempotency-Key": _header(value)},
            json={**list(examples().values())[0], "requested_amount": 10 ** 30}).status_code)
    assert len(statuses) == len(SEARCH) * len(HOSTILE) + 4 * len(HOSTILE)
    assert [s for s in statuses if s >= 500] == []
    assert set(statuses) <= {200, 400, 404, 405, 422}, sorted(set(statuses))
