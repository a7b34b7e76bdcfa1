"""YAML documents with positions: syntax errors and duplicate keys, located."""
from __future__ import annotations

from engine.read.samples import CHECKS, POLICY, load_files, position, where
from engine.support import codes, errors


# --- YAML ---------------------------------------------------------------------------------------
def test_yaml_syntax_error_location(tmp_path):
    broken = "ruleset: checks\nhit_policy: collect\nrules:\n  - {id: C-1, when: a > 1\n"
    result = load_files(tmp_path, rules__checks_yaml=broken)
    syntax = [d for d in result.diagnostics if d.code == "YAML_SYNTAX"]
    assert [(d.location.file, d.location.line, d.location.column) for d in syntax] == \
        [("rules/checks.yaml", 5, 1)]  # the stream ends inside the flow mapping
    # The rule set cannot be read, so the stage that names it is reported too (not a crash).
    assert "DOC_MISSING" in codes(result)


def test_yaml_syntax_error_in_one_file_does_not_hide_others(tmp_path):
    result = load_files(tmp_path, rules__unused_yaml="list: unused\n values: [1]\n",
                        policies__p__x_yaml=POLICY + "extra: 1\n")
    found = {(d.code, d.location.file, d.location.line, d.location.column)
             for d in errors(result)}
    assert ("YAML_SYNTAX", "rules/unused.yaml", 2, 8) in found
    assert ("UNKNOWN_KEY", "policies/p/x.yaml") in {f[:2] for f in found}


def test_duplicate_key_is_an_error_at_the_second_key(tmp_path):
    checks = CHECKS.replace("    when: a > 10\n", "    when: a > 10\n    when: a > 99\n")
    result = load_files(tmp_path, rules__checks_yaml=checks)
    [duplicate] = [d for d in errors(result) if d.code == "YAML_DUPLICATE_KEY"]
    assert where(duplicate)[1:] == ("rules/checks.yaml", *position(checks, "when", 1))
    assert "'when' appears twice" in duplicate.message
    assert f"line {position(checks, 'when')[0]}" in duplicate.message
