"""docs/tutorial.md, followed to the letter: its files are written in an empty folder, its console
commands run one by one in a shell, and what each prints is compared with what the tutorial shows
(`...` in a line stands for text that changes from run to run)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from support.settings import REPO

TUTORIAL = REPO / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)(?: (file|append)=(\S+))?\n(.*?)^```$", re.M | re.S)
PORT = "8001"  # the tutorial's port; the test serves on a free one instead


def steps(text: str):
    """('file'|'append', path, content) and ('run', command, expected output), in order."""
    for kind, action, path, body in FENCE.findall(text):
        if action:
            yield action, path, body
        elif kind == "console":
            command, expected = None, []
            for line in body.splitlines():
                if line.startswith("$ "):
                    if command is not None:
                        yield "run", command, expected
                    command, expected = line[2:], []
                else:
                    expected.append(line)
            if command is not None:
                yield "run", command, expected


def matches(expected: list[str], printed: str) -> bool:
    lines = printed.rstrip("\n").splitlines() if printed.strip() else []
    if len(lines) != len(expected):
        return False
    for want, got in zip(expected, lines):
        pattern = ".*".join(re.escape(part) for part in want.rstrip().split("..."))
        if not re.fullmatch(pattern, got.rstrip()):
            return False
    return True


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def test_the_tutorial_runs_as_written(tmp_path):
    folder = tmp_path / "mini"
    folder.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FIREFLY_", "DATABASE_URL", "REDIS_URL", "FLASK_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    exports: list[str] = []
    ran = 0
    try:
        for kind, what, content in steps(TUTORIAL.read_text(encoding="utf-8")):
            if kind in ("file", "append"):
                path = folder / what
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a" if kind == "append" else "w", encoding="utf-8") as handle:
                    handle.write(content)
                continue
            command = what.replace(PORT, port)
            if command.startswith("export "):
                exports.append(command)
            script = "\n".join([*exports, command])
            done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, f"$ {what}\n{done.stdout}{done.stderr}"
            assert done.stderr == "", f"$ {what}\n{done.stderr}"
            assert matches(content, done.stdout), (
                f"$ {what}\nthe tutorial shows:\n" + "\n".join(content) + f"\nit printed:\n{done.stdout}")
            ran += 1
    finally:
        pid = folder / "gunicorn.pid"
        if pid.exists():
            try:
                os.kill(int(pid.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
    assert ran >= 10  # every console command of the tutorial was run and compared


def test_a_changed_output_in_the_tutorial_would_fail():
    # the comparison is strict: one word, one line more or less, is a mismatch
    assert matches(["ok mini.application 1.0 ... (5 files)"], "ok mini.application 1.0 ab12 (5 files)\n")
    assert not matches(["ok mini.application 1.0 ... (5 files)"], "ok mini.application 1.1 ab12 (5 files)\n")
    assert not matches(["0 warning(s)."], "0 warning(s).\n1 warning(s).\n")
    assert not matches([], "something\n")
