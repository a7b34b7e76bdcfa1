"""Reading the files of a root: document kinds and names, duplicates, and the content hash."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import load_policy_root
from engine.read.samples import CHECKS, POLICY, base_files, load_files, write
from engine.support import codes, errors


def test_empty_file_and_non_mapping_file(tmp_path):
    result = load_files(tmp_path, rules__unused_yaml="", rules__extra_yaml="- 1\n- 2\n")
    assert {"YAML_EMPTY", "DOC_SHAPE"} <= set(codes(result))


def test_file_without_a_kind(tmp_path):
    result = load_files(tmp_path, rules__unused_yaml="name: x\nvalues: [1]\n")
    [kind] = [d for d in errors(result) if d.code == "DOC_KIND"]
    assert kind.location.file == "rules/unused.yaml"


def test_document_defined_twice(tmp_path):
    result = load_files(tmp_path, rules__checks2_yaml=CHECKS)
    [duplicate] = [d for d in errors(result) if d.code == "DOC_DUPLICATE"]
    assert duplicate.location.file == "rules/checks2.yaml"
    assert "rules/checks.yaml" in duplicate.message


def test_policy_name_format(tmp_path):
    result = load_files(tmp_path, policies__p__x_yaml=POLICY.replace("policy: p.x", "policy: PX"))
    assert "POLICY_NAME" in codes(result)


# --- hashes -------------------------------------------------------------------------------------
def _hash(root: Path, files: dict[str, str]) -> str:
    result = load_policy_root(write(root, files))
    assert result.ok, [str(d) for d in result.diagnostics]
    return result.policies["p.x"].hash


@pytest.mark.parametrize("path, old, new", [
    ("rules/checks.yaml", "a > 10", "a > 11"),
    ("rules/checks.yaml", "rules:", "# a comment\nrules:"),
    ("rules/grade.yaml", "G-2", "G-3"),
    ("rules/codes.yaml", '"X2"', '"X3"'),
    ("rules/reason_codes.yaml", "Reason R1", "Reason R1 changed"),
    ("policies/p/x.yaml", "a * 2", "a * 3"),
    ("policies/p/x.yaml", 'version: "1"', 'version: "2"'),
])
def test_hash_changes_when_a_used_file_or_the_version_changes(tmp_path, path, old, new):
    files = base_files()
    before = _hash(tmp_path / "before", files)
    assert old in files[path]
    files[path] = files[path].replace(old, new)
    assert _hash(tmp_path / "after", files) != before


@pytest.mark.parametrize("path, text", [
    ("rules/unused.yaml", 'list: unused\ntype: string\nvalues: ["V", "W"]\n'),
    ("rules/spare.yaml", "list: spare\ntype: integer\nvalues: [1]\n"),
    ("policies/p/tests/cases.yaml", "policy: p.x\ncases: []\n"),
])
def test_hash_ignores_files_the_policy_does_not_use(tmp_path, path, text):
    files = base_files()
    before = _hash(tmp_path / "before", files)
    files[path] = text
    assert _hash(tmp_path / "after", files) == before


def test_hash_is_stable_across_loads_and_covers_exactly_the_used_files(tmp_path):
    files = base_files()
    first = load_policy_root(write(tmp_path / "one", files)).policies["p.x"]
    second = load_policy_root(write(tmp_path / "two", files)).policies["p.x"]
    assert first.hash == second.hash and len(first.hash) == 64
    assert set(first.files) == {"policies/p/x.yaml", "rules/checks.yaml", "rules/grade.yaml",
                                "rules/codes.yaml", "rules/reason_codes.yaml"}
    assert first.files["rules/checks.yaml"] == CHECKS
