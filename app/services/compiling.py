"""Compiled policies, cached by content: the same files on the same backend compile once per process.

A reload of an unchanged folder, every worker's replay of a stored version, and every test app
built on the reference policies then reuse one compiled object (policies are immutable once built).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from app.engine import LoadResult, Policy, PolicyError, load_policies, load_policy_files, read_policy_root

_SIZE = 32
_cache: OrderedDict[tuple, Any] = OrderedDict()
_lock = threading.Lock()


def _digest(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        data = files[path].encode("utf-8")
        digest.update(f"{path}\0{len(data)}\0".encode("utf-8"))
        digest.update(data)
    return digest.hexdigest()


def _cached(key: tuple, build: Any) -> Any:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = build()  # outside the lock: compiling takes a while and is safe to do twice
    with _lock:
        _cache[key] = value
        while len(_cache) > _SIZE:
            _cache.popitem(last=False)
    return value


def load_root(root: str | Path, engine: str | None = None) -> LoadResult:
    """Every policy of a folder holding policies/ and rules/, read once and compiled (or taken
    from the cache when those exact files were compiled before)."""
    try:
        files = read_policy_root(root)
    except PolicyError as error:  # a file that is not UTF-8: its diagnostic, located
        return LoadResult({}, error.diagnostics, str(root))
    return _cached(("root", str(root), _digest(files), engine), lambda: load_policies(files, engine, root=str(root)))


def load_version(name: str, files: dict[str, str], engine: str | None = None) -> Policy:
    """One stored policy version rebuilt from its files; raises the engine's PolicyError."""
    return _cached(("version", name, _digest(files), engine), lambda: load_policy_files(name, files, engine))


def clear() -> None:
    with _lock:
        _cache.clear()


def load_files(files: dict[str, str], engine: str | None = None, origin: str = "") -> LoadResult:
    """Every policy of a set of files ({relative path: text}, as a release stores them), compiled
    once per content."""
    return _cached(("files", _digest(files), engine), lambda: load_policies(dict(files), engine, root=origin))


def content_hash(files: dict[str, str]) -> str:
    """The hash of a set of files: paths and texts, in path order."""
    return _digest(files)
