"""`flask --app wsgi ...` run as a newcomer runs it, in a real process: a command prints what its
user asked for, loads and records no served policies, and logs only errors unless asked (-v)."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from support.settings import POLICY_ROOT, REPO

FLASK = str(Path(sys.executable).with_name("flask"))


def flask(*args: str, database: Path, root: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "FIREFLY_LOG_LEVEL", "FLASK_RUN_FROM_CLI")}
    env.update(DATABASE_URL=f"sqlite:///{database}", FIREFLY_POLICY_ROOT=str(root or POLICY_ROOT))
    return subprocess.run([FLASK, "--app", "wsgi", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def tables(database: Path) -> dict[str, int]:
    """Each table of the SQLite file with its row count ({} when there is no file)."""
    if not database.exists():
        return {}
    with sqlite3.connect(database) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


@pytest.fixture
def database(tmp_path) -> Path:
    return tmp_path / "new.db"


def test_the_first_migration_is_quiet_and_records_no_policy(database):
    done = flask("db", "upgrade", database=database)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert tables(database)["policy_versions"] == 0
    assert tables(database)["alembic_version"] == 1


def test_verbose_shows_the_log_lines(database):
    done = flask("db", "-v", "upgrade", database=database)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert any("Running upgrade" in line["message"] for line in lines)


def test_check_of_another_folder_prints_only_that_folder(tmp_path, database):
    folder = tmp_path / "mine"
    for part in ("policies", "rules"):
        shutil.copytree(POLICY_ROOT / part, folder / part)
    done = flask("policy", "check", str(folder), database=database)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[0].startswith("ok zhishandai.application ")
    assert tables(database) == {}  # the command opened no database


def test_decide_on_a_broken_folder_prints_its_diagnostics_and_touches_no_database(tmp_path, database):
    folder = tmp_path / "broken"
    for part in ("policies", "rules"):
        shutil.copytree(POLICY_ROOT / part, folder / part)
    policy = folder / "policies" / "zhishandai" / "application.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("stages:", "stagez:", 1),
                      encoding="utf-8")
    example = REPO / "examples" / "approve_salaried.json"
    done = flask("policy", "decide", "zhishandai.application", str(example), "--root", str(folder),
                 database=database)
    assert done.returncode == 1
    printed = done.stdout.splitlines()
    assert any("application.yaml:" in line and "error UNKNOWN_KEY unknown key 'stagez'" in line
               for line in printed), printed
    assert "cannot be loaded, so nothing was decided" in done.stderr
    assert "serving the last recorded" not in done.stdout + done.stderr
    assert "no loaded policy" not in done.stdout + done.stderr
    assert tables(database) == {}


def test_decide_prints_the_decision_alone(database):
    example = REPO / "examples" / "decline_overdue_pattern.json"
    done = flask("policy", "decide", "zhishandai.application", str(example), database=database)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["outcome"] == "DECLINE"
    assert tables(database) == {}
