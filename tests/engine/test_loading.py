"""Loading policies: a root serves all or nothing; a stored version round-trips through its
files."""
from __future__ import annotations

import pytest

from app.engine import (PolicyError, build_policies, canonical_json, load_policy_files,
                        load_policy_root, read_policy_root)
from engine.read.samples import CHECKS, POLICY, base_files, write
from engine.support import codes, dump, make_policy, run


def test_empty_root(tmp_path):
    result = load_policy_root(tmp_path)
    assert not result.ok and [d.code for d in result.diagnostics] == ["ROOT_EMPTY"]


def test_a_root_with_any_error_serves_no_policy(tmp_path):
    files = base_files()
    files["policies/q/y.yaml"] = POLICY.replace("policy: p.x", "policy: q.y") \
        .replace("a * 2", "a * nope")
    result = load_policy_root(write(tmp_path, files))
    assert codes(result) == ["EXPR_UNKNOWN_NAME"]
    assert result.policies == {}
    parts, _ = build_policies(files)
    assert set(parts) == {"p.x"}  # the valid one did build; the root as a whole is refused


def test_rule_tests_folder_is_not_part_of_the_policy(tmp_path):
    files = base_files()
    files["policies/p/tests/cases.yaml"] = "policy: p.x\ncases: []\n"
    write(tmp_path, files)
    assert "policies/p/tests/cases.yaml" not in read_policy_root(tmp_path)
    assert load_policy_root(tmp_path).ok


# --- round trip ---------------------------------------------------------------------------------
SAMPLES = [{"a": 11, "e": "RED", "s": "X1"}, {"a": 1, "e": "BLUE"}, {}, {"s": "张三", "a": 10}]


def _decisions(policy) -> list[str]:
    out = []
    for sample in SAMPLES:
        decision = run(policy, sample)
        out.append(canonical_json([decision.to_dict(), decision.trace.to_dict()]))
    return out


def test_load_policy_files_round_trip(tmp_path):
    policy = load_policy_root(write(tmp_path, base_files())).policies["p.x"]
    rebuilt = load_policy_files("p.x", policy.files)
    assert rebuilt.hash == policy.hash
    assert rebuilt.files == policy.files
    assert _decisions(rebuilt) == _decisions(policy)
    # and once more from the rebuilt one's files
    assert load_policy_files("p.x", rebuilt.files).hash == policy.hash


def test_load_policy_files_round_trip_with_a_scorecard_and_limit(tmp_path):
    card = dump({"scorecard": "card", "base_points": 100, "characteristics": [
        {"id": "CH-A", "input": "a", "bins": [
            {"id": "CH-A-1", "when": "< 5", "points": 0, "reason": "SC_A"},
            {"id": "CH-A-2", "when": ">= 5", "points": 20},
            {"id": "CH-A-M", "when": "missing", "points": -10, "reason": "SC_A_MISSING"}]}],
        "bands": [{"band": "A", "min": 110}, {"band": "B", "action": "REFER",
                                               "reason": "SCORE_LOW"}]})
    policy = make_policy(tmp_path, {"card": card}, stages=[{"id": "score", "scorecard": "card"}],
                         limit={"base": "a * 1000", "caps": [{"id": "CAP", "value": "b"}],
                                "round_down_to": 1000, "minimum": 5000,
                                "below_minimum": {"action": "DECLINE", "reason": "BELOW_MIN"},
                                "when_missing": {"action": "REFER", "reason": "NO_LIMIT"}})
    rebuilt = load_policy_files("p.x", policy.files)
    assert rebuilt.hash == policy.hash
    for sample in ({"a": 7, "b": 6500}, {"a": 3}, {}):
        left, right = run(policy, sample), run(rebuilt, sample)
        assert canonical_json(left.to_dict()) == canonical_json(right.to_dict())
        assert canonical_json(left.trace.to_dict()) == canonical_json(right.trace.to_dict())


def test_load_policy_files_errors(tmp_path):
    files = base_files()
    with pytest.raises(PolicyError) as missing:
        load_policy_files("q.y", files)
    assert [d.code for d in missing.value.diagnostics] == ["POLICY_MISSING"]
    files["rules/checks.yaml"] = CHECKS.replace("a > 10", "a > zz")
    with pytest.raises(PolicyError) as broken:
        load_policy_files("p.x", files)
    assert [d.code for d in broken.value.diagnostics] == ["EXPR_UNKNOWN_NAME"]
    assert "rules/checks.yaml:" in str(broken.value)


def test_a_file_that_is_not_utf8_is_a_located_error(tmp_path):
    write(tmp_path, base_files())
    (tmp_path / "rules" / "unused.yaml").write_bytes(b"list: unused\ntype: string\nvalues: ['" + "中".encode("gbk") + b"']\n")
    result = load_policy_root(tmp_path)
    assert not result.policies
    [problem] = [d for d in result.diagnostics if d.severity == "error"]
    assert (problem.code, problem.location.file, problem.location.line, problem.location.column) == \
        ("FILE_ENCODING", "rules/unused.yaml", 3, 11)
