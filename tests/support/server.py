"""A real gunicorn serving the app, for the tests that need the server itself (bodies, timeouts,
gunicorn's own rejections, logs) and for the fault suite (tests/faults)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from support.keys import TEST_API_KEYS
from support.settings import REPO

DEADLINE = 60  # seconds; every wait ends as soon as its condition holds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, what: str, deadline: float = DEADLINE):
    """Poll `condition` until it is truthy (its value is returned); AssertionError past the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


class Gunicorn:
    """gunicorn -c gunicorn.conf.py wsgi:app on a free port, its stdout (access log) and stderr
    (JSON logs) in files under `folder`."""

    def __init__(self, folder: Path, database_url: str, redis_url: str | None, **env: str) -> None:
        self.folder, self.port = Path(folder), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout, self.stderr = self.folder / "access.log", self.folder / "error.log"
        (self.folder / "metrics").mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "DATABASE_URL": database_url, "FIREFLY_API_KEYS": TEST_API_KEYS,
                    "FIREFLY_WORKERS": "2", "FIREFLY_THREADS": "4",
                    "FIREFLY_BIND": f"127.0.0.1:{self.port}", "FIREFLY_RUN_POLICY_TESTS": "0",
                    "PROMETHEUS_MULTIPROC_DIR": str(self.folder / "metrics"), **env}
        self.env.pop("REDIS_URL", None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        with open(self.stdout, "ab") as out, open(self.stderr, "ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=REPO, env=self.env, stdout=out, stderr=err)
        wait_for(self._up, "gunicorn to answer /healthz")
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError("gunicorn exited:\n" + self.stderr.read_text()[-4000:])
        try:
            return requests.get(self.base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        """The pids of the master's children (its workers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def raw(self, data: bytes, timeout: float = 30) -> bytes:
        """Send raw bytes on a fresh connection and read the whole answer (until the server closes)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)
