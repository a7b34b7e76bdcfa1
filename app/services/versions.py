"""The stored policy versions as a reader sees them: which exist, the files of one, what changed
between two (a unified diff per file), and what the rules of a version say as written (name and
condition, with file and line) so that a decision's trace can quote them."""
from __future__ import annotations

import datetime
import difflib
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from app.engine.source import Node, parse_yaml
from app.services.errors import NotFound
from app.services.integrity import refuse_altered_version, version_problem
from app.storage import policy_versions
from app.storage.db import Database
from app.storage.models import PolicyVersion


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: str
    hash: str
    engine: str
    first_seen: datetime.datetime
    files: tuple[str, ...]


@dataclass(frozen=True)
class Written:
    """An item with an id as its author wrote it: a rule, a bin, a cap, a requirement, a row."""

    id: str
    zh: str
    en: str
    when: str | None
    file: str
    line: int


@dataclass(frozen=True)
class FileDiff:
    file: str
    change: str          # added, removed or changed
    lines: tuple[str, ...]  # unified diff lines


@dataclass(frozen=True)
class WrittenText:
    """What one version's files say: every item with an id, and the title of every rule set,
    table and scorecard (by its name)."""

    items: dict[str, Written]
    titles: dict[str, tuple[str, str]]
    parameters: dict[str, str] = field(default_factory=dict)  # params.NAME as written, for conditions
    altered: str | None = None  # why the stored files are not quoted (integrity.version_problem)

    def parameters_in(self, condition: str | None) -> list[tuple[str, str]]:
        """The parameters a condition names, with their values: [("params.x", "3")]."""
        names = dict.fromkeys(re.findall(r"params\.([A-Za-z_][A-Za-z0-9_]*)", condition or ""))
        return [(f"params.{name}", self.parameters[name]) for name in names if name in self.parameters]


def _info(row: PolicyVersion) -> VersionInfo:
    return VersionInfo(row.name, row.version, row.hash, row.engine, row.first_seen, tuple(sorted(row.files)))


class PolicyVersions:
    def __init__(self, database: Database) -> None:
        self.database = database

    def listed(self) -> list[VersionInfo]:
        """Every stored version, the one recorded last first."""
        with self.database.session() as session:
            return [_info(row) for row in policy_versions.all_versions(session)]

    def files(self, policy_hash: str) -> tuple[VersionInfo, dict[str, str]]:
        row = refuse_altered_version(self._row(policy_hash))
        return _info(row), dict(row.files)

    def diff(self, old_hash: str, new_hash: str) -> list[FileDiff]:
        """Every file that differs between two versions, as a unified diff."""
        old, new = (refuse_altered_version(self._row(h)) for h in (old_hash, new_hash))
        return file_diffs(old.files, new.files, old_hash[:12], new_hash[:12])

    def written(self, policy_hash: str) -> WrittenText:
        """The items and titles of a stored version (empty when the version is not stored)."""
        with self.database.session() as session:
            row = policy_versions.by_hash(session, policy_hash)
        if row is None:
            return WrittenText({}, {})
        problem = version_problem(row)
        if problem:  # never quote rules that are not the ones that decided
            return WrittenText({}, {}, altered=problem)
        return _written(tuple(sorted(row.files.items())))

    def _row(self, policy_hash: str) -> PolicyVersion:
        with self.database.session() as session:
            row = policy_versions.by_hash(session, policy_hash)
        if row is None:
            raise NotFound(f"no stored policy version {policy_hash[:64]!r}", code="unknown_policy_version")
        return row


def file_diffs(old: dict[str, str], new: dict[str, str], old_name: str, new_name: str) -> list[FileDiff]:
    """Every file that differs between two sets of files, as a unified diff."""
    changes = []
    for file in sorted(set(old) | set(new)):
        if old.get(file) == new.get(file):
            continue
        change = "added" if file not in old else "removed" if file not in new else "changed"
        lines = difflib.unified_diff(old.get(file, "").splitlines(), new.get(file, "").splitlines(),
                                     f"{old_name}/{file}", f"{new_name}/{file}", lineterm="")
        changes.append(FileDiff(file, change, tuple(lines)))
    return changes


@functools.lru_cache(maxsize=32)
def _written(files: tuple[tuple[str, str], ...]) -> WrittenText:
    items: dict[str, Written] = {}
    titles: dict[str, tuple[str, str]] = {}
    parameters: dict[str, str] = {}
    for file, text in files:
        if not file.endswith((".yaml", ".yml")):
            continue
        root, _problems = parse_yaml(text, file)
        if root is None or not isinstance(root.value, dict):
            continue
        for kind in ("ruleset", "table", "scorecard"):
            if kind in root.value and "name" in root.value:
                titles[str(root.value[kind].value)] = _text(root.value["name"])
        if "policy" in root.value and isinstance(root.value.get("parameters", Node(None, None)).value, dict):
            parameters.update({name: _plain(node.value) for name, node in root.value["parameters"].value.items()})
        _collect(root, items)
    return WrittenText(items, titles, parameters)


def _collect(node: Node, items: dict[str, Written]) -> None:
    value = node.value
    if isinstance(value, dict):
        if "id" in value and isinstance(value["id"].value, str) and value["id"].value not in items:
            zh, en = _text(value["name"]) if "name" in value else ("", "")
            when = _plain(value["when"].value) if "when" in value else None
            items[value["id"].value] = Written(value["id"].value, zh, en, when, node.location.file,
                                               node.location.line)
        for child in value.values():
            _collect(child, items)
    elif isinstance(value, list):
        for child in value:
            _collect(child, items)


def _text(node: Node) -> tuple[str, str]:
    if isinstance(node.value, dict):
        return (str(_plain(node.value["zh"].value)) if "zh" in node.value else "",
                str(_plain(node.value["en"].value)) if "en" in node.value else "")
    return str(node.value), str(node.value)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(_plain(item.value)) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_plain(item.value)}" for key, item in value.items())
    return "missing" if value is None else str(value)
