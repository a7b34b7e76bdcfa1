"""deploy/nginx.conf, the documented reverse proxy, in front of a real gunicorn: decisions pass,
oversized bodies and slow clients are stopped at the proxy with the JSON error envelope, the
request id reaches the service, and the proxy's access log is JSON."""
import json
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from support.applicants import examples
from support.http import URL
from support.keys import KEYS
from support.server import Gunicorn, free_port, wait_for
from support.settings import REPO

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not Path(NGINX).exists(),
                                reason="nginx is not installed (apt-get install nginx-light)")


@pytest.fixture
def proxied(database_url, redis_url, clean_state, tmp_path):
    gunicorn = Gunicorn(tmp_path / "gunicorn", database_url, redis_url, FIREFLY_WORKERS="1").start()
    port = free_port()
    site = (REPO / "deploy" / "nginx.conf").read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{gunicorn.port};")
    site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    site = site.replace("client_body_timeout 10s;", "client_body_timeout 1s;")  # the one change: a quick test
    root = tmp_path / "nginx"
    root.mkdir()
    (root / "site.conf").write_text(site)
    (root / "nginx.conf").write_text(
        f"pid {root}/nginx.pid;\nerror_log {root}/error.log;\nevents {{}}\nhttp {{\n"
        + "".join(f"  {kind}_temp_path {root}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"  include {root}/site.conf;\n}}\n")
    log = open(root / "access.log", "wb")
    process = subprocess.Popen([NGINX, "-p", str(root), "-e", str(root / "error.log"), "-c", str(root / "nginx.conf"),
                                "-g", "daemon off; master_process off;"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up():
        assert process.poll() is None, (root / "error.log").read_text()
        try:
            return requests.get(base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False
    try:
        wait_for(up, "nginx to pass /healthz")
        yield base, port, root / "access.log", gunicorn
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        gunicorn.stop()


def test_decisions_pass_through_with_their_request_id(proxied):
    base, _, access, _ = proxied
    response = requests.post(base + URL, json=list(examples().values())[0], timeout=30,
                             headers={"X-API-Key": KEYS["channel"], "X-Request-Id": "through-nginx-1"})
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-Id"] == "through-nginx-1"
    wait_for(lambda: "through-nginx-1" in access.read_text(), "the proxy's access line")
    entries = [json.loads(line) for line in access.read_text().splitlines()]
    assert any(e["request_id"] == "through-nginx-1" and e["status"] == "201" for e in entries)


def test_an_oversized_body_is_413_json_at_the_proxy(proxied):
    base = proxied[0]
    response = requests.post(base + URL, data=b"{" + b" " * 70000 + b"}", timeout=30,
                             headers={"X-API-Key": KEYS["channel"], "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_slow_clients_are_cut_off_at_the_proxy_and_gunicorn_keeps_serving(proxied):
    base, port, _, gunicorn = proxied
    answers = []

    def slow():
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(f"POST {URL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Content-Length: 3000\r\nX-API-Key: {KEYS['channel']}\r\n\r\n{{\"a\":1".encode())
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            answers.append(b"".join(chunks))

    threads = [threading.Thread(target=slow) for _ in range(16)]
    for thread in threads:
        thread.start()
    assert requests.post(base + URL, json=list(examples().values())[0], timeout=60,
                         headers={"X-API-Key": KEYS["channel"]}).status_code == 201
    for thread in threads:
        thread.join(60)
    assert len(answers) == 16
    # nginx answers 408 by closing the connection (it sends no response to a client that is gone)
    # or with the JSON envelope; gunicorn never saw these requests.
    for answer in answers:
        assert answer == b"" or b'"request_timeout"' in answer, answer[:300]
    assert "/v1/decisions" not in "".join(
        line for line in gunicorn.stdout.read_text().splitlines() if '"status": "408"' in line)
