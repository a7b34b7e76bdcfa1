"""The fault suite's own servers: a PostgreSQL cluster (initdb/pg_ctl in a temporary folder, on a
free port) and a redis-server on a free port, so that a test may stop, kill or empty them without
touching the machine's PostgreSQL and Redis; and a real gunicorn in front of them.

The slow faults (marked `slow_fault`) run under `make faults` (and .ci/run), not in `make test`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis

from app.storage.migrate import upgrade
from support.server import free_port, wait_for

PG_BIN = Path(os.environ.get("FIREFLY_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class OwnPostgres:
    """A throw-away PostgreSQL cluster: start, stop (fast: connections are cut), start again."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                                     "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True)

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                                     str(self.folder / "server.log"), *args]),
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._ctl("-w", "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off -c max_connections=60", "start")

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def ready(self) -> bool:
        return subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                              capture_output=True).returncode == 0


class OwnRedis:
    """A redis-server without persistence: a restart starts empty."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ready, "redis-server to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def ready(self) -> bool:
        try:
            client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False


@pytest.fixture(scope="module")
def own_postgres():
    # Not under pytest's temporary folder: that is private to root, and postgres must enter it.
    folder = Path(tempfile.mkdtemp(prefix="firefly-faults-pg-"))
    folder.chmod(0o755)
    server = OwnPostgres(folder / "cluster")
    server.start()
    upgrade(server.url)
    yield server
    try:
        server.stop()
    except subprocess.CalledProcessError:
        pass  # already stopped by a test
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = OwnRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
