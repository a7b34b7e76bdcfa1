"""The loader: every problem at once with its location, document checks, hashes, round trips."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.engine import (InputError, PolicyError, build_policies, canonical_json,
                        load_policy_files, load_policy_root, read_policy_root)
from helpers import codes, dump, errors, make_policy, reasons_text, ruleset, run

POLICY = """\
policy: p.x
version: "1"
name: {zh: 测试, en: Test}
reasons: reason_codes
input:
  decision_date: {type: date, required: true}
  a: integer
  e: {type: enum, values: [RED, GREEN, BLUE]}
  s: string
features:
  double: a * 2
stages:
  - {id: checks, ruleset: checks}
  - {id: grade, table: grade}
outputs: [grade]
"""

CHECKS = """\
ruleset: checks
name: {zh: 检查, en: Checks}
hit_policy: collect
rules:
  - id: C-1
    when: a > 10
    then: {action: DECLINE, reason: R1}
  - id: C-2
    when: s in lists.codes
    then: {action: REFER, reason: R2}
"""

GRADE = """\
table: grade
hit_policy: first
inputs: [e]
outputs:
  grade: {type: enum, values: [G1, G2]}
rows:
  - {id: G-1, when: [RED], then: {grade: G1}}
  - {id: G-2, when: ["-"], then: {grade: G2}}
"""

CODES = """\
list: codes
type: string
values: ["X1", "X2"]
"""

UNUSED = """\
list: unused
type: string
values: ["U"]
"""


def base_files() -> dict[str, str]:
    return {"policies/p/x.yaml": POLICY, "rules/checks.yaml": CHECKS, "rules/grade.yaml": GRADE,
            "rules/codes.yaml": CODES, "rules/unused.yaml": UNUSED,
            "rules/reason_codes.yaml": reasons_text()}


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def load_files(root: Path, **changes: str):
    """Load the base files with some replaced (keyword: relative path with / as __)."""
    files = base_files()
    for key, text in changes.items():
        files[key.replace("__", "/").replace("_yaml", ".yaml")] = text
    return load_policy_root(write(root, files))


def position(text: str, token: str, nth: int = 0) -> tuple[int, int]:
    """(line, column) of the nth occurrence of token in text, both from 1."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(token, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def where(diagnostic) -> tuple:
    return (diagnostic.code, diagnostic.location.file, diagnostic.location.line,
            diagnostic.location.column)


def test_the_base_policy_loads_cleanly(tmp_path):
    result = load_files(tmp_path)
    assert result.ok and result.diagnostics == []
    policy = result.policies["p.x"]
    decision = run(policy, a=11, e="RED")
    assert decision.outcome == "DECLINE" and decision.outputs == {"grade": "G1"}


# --- every problem at once ----------------------------------------------------------------------
def test_five_mistakes_give_five_located_diagnostics(tmp_path):
    policy = POLICY.replace("  double: a * 2\n", "  double: a * 2\n  bad: s + 1\n")  # 1 type
    checks = CHECKS.replace("reason: R2", "reason: R22") \
        .replace("s in lists.codes", "s in lists.codes or bogus > 1") \
        + "  - id: C-1\n    when: a > 20\n    then: {action: DECLINE, reason: R1}\n"
    grade = GRADE.replace("when: [RED]", "when: [REDD]")
    result = load_files(tmp_path, policies__p__x_yaml=policy, rules__checks_yaml=checks,
                        rules__grade_yaml=grade)
    assert not result.ok and result.policies == {}
    found = [where(d) for d in errors(result)]
    assert found == [
        ("EXPR_TYPE", "policies/p/x.yaml", *position(policy, "s + 1")),
        ("EXPR_UNKNOWN_NAME", "rules/checks.yaml", *position(checks, "bogus")),
        ("REASON_UNKNOWN", "rules/checks.yaml", *position(checks, "R22")),
        ("ID_DUPLICATE", "rules/checks.yaml", *position(checks, "C-1", 1)),
        ("CELL", "rules/grade.yaml", *position(grade, "REDD")),
    ], [str(d) for d in errors(result)]
    messages = {d.code: d.message for d in errors(result)}
    assert "did you mean 'R2'" in messages["REASON_UNKNOWN"]
    assert "did you mean 'RED'" in messages["CELL"]
    assert f"already used at rules/checks.yaml:{position(checks, 'C-1')[0]}:9" in \
        messages["ID_DUPLICATE"]


def test_unknown_reason_code_is_reported_next_to_other_errors(tmp_path):
    checks = CHECKS.replace("reason: R2", "reason: R22").replace("a > 10", "a > \"10\"")
    result = load_files(tmp_path, rules__checks_yaml=checks)
    found = {where(d) for d in errors(result)}
    assert ("REASON_UNKNOWN", "rules/checks.yaml", *position(checks, "R22")) in found
    assert ("EXPR_TYPE", "rules/checks.yaml", *position(checks, "a > ")) in found
    reason = next(d for d in errors(result) if d.code == "REASON_UNKNOWN")
    assert "did you mean 'R2'" in reason.message


def test_diagnostics_are_sorted_by_location(tmp_path):
    checks = CHECKS.replace("a > 10", "bogus > 10").replace("reason: R2", "reason: NOPE")
    result = load_files(tmp_path, rules__checks_yaml=checks, policies__p__x_yaml=POLICY + "x: 1\n")
    keys = [(d.location.file, d.location.line, d.location.column) for d in result.diagnostics]
    assert keys == sorted(keys) and len(keys) == 3


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


def test_empty_file_and_non_mapping_file(tmp_path):
    result = load_files(tmp_path, rules__unused_yaml="", rules__extra_yaml="- 1\n- 2\n")
    assert {"YAML_EMPTY", "DOC_SHAPE"} <= set(codes(result))


def test_file_without_a_kind(tmp_path):
    result = load_files(tmp_path, rules__unused_yaml="name: x\nvalues: [1]\n")
    [kind] = [d for d in errors(result) if d.code == "DOC_KIND"]
    assert kind.location.file == "rules/unused.yaml"


def test_empty_root(tmp_path):
    result = load_policy_root(tmp_path)
    assert not result.ok and [d.code for d in result.diagnostics] == ["ROOT_EMPTY"]


# --- ids, documents, references -----------------------------------------------------------------
def test_duplicate_rule_ids_across_rule_sets(tmp_path):
    other = ruleset("other", [
        {"id": "C-2", "when": "a > 1", "then": {"action": "REFER", "reason": "R3"}},
        {"id": "O-1", "when": "a > 2", "then": {"action": "REFER", "reason": "R3"}}])
    policy = POLICY.replace("  - {id: grade", "  - {id: other, ruleset: other}\n  - {id: grade")
    result = load_files(tmp_path, rules__other_yaml=other, policies__p__x_yaml=policy)
    [duplicate] = errors(result)
    assert duplicate.code == "ID_DUPLICATE"
    assert duplicate.location.file == "rules/other.yaml"
    assert f"rules/checks.yaml:{position(CHECKS, 'C-2')[0]}" in duplicate.message


def test_duplicate_stage_and_row_id(tmp_path):
    policy = POLICY.replace("{id: checks, ruleset: checks}", "{id: G-1, ruleset: checks}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    [duplicate] = errors(result)
    assert where(duplicate) == ("ID_DUPLICATE", "rules/grade.yaml", *position(GRADE, "G-1"))
    assert "policies/p/x.yaml" in duplicate.message


def test_document_defined_twice(tmp_path):
    result = load_files(tmp_path, rules__checks2_yaml=CHECKS)
    [duplicate] = [d for d in errors(result) if d.code == "DOC_DUPLICATE"]
    assert duplicate.location.file == "rules/checks2.yaml"
    assert "rules/checks.yaml" in duplicate.message


def test_missing_rule_set_with_suggestion(tmp_path):
    policy = POLICY.replace("ruleset: checks}", "ruleset: chekcs}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    [missing] = errors(result)
    assert where(missing) == ("DOC_MISSING", "policies/p/x.yaml", *position(policy, "chekcs"))
    assert "did you mean 'checks'" in missing.message


def test_missing_table_and_scorecard(tmp_path):
    policy = POLICY.replace("table: grade}", "table: grades}") \
        .replace("outputs: [grade]", "outputs: []")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert codes(result) == ["DOC_MISSING"]
    assert "did you mean 'grade'" in errors(result)[0].message


def test_unknown_reason_code_with_suggestion(tmp_path):
    checks = CHECKS.replace("reason: R1", "reason: [R1, R33]")
    result = load_files(tmp_path, rules__checks_yaml=checks)
    [unknown] = errors(result)
    assert where(unknown) == ("REASON_UNKNOWN", "rules/checks.yaml", *position(checks, "R33"))
    assert "did you mean 'R3'" in unknown.message


def test_missing_reason_catalogue(tmp_path):
    result = load_files(tmp_path, policies__p__x_yaml=POLICY.replace("reasons: reason_codes",
                                                                     "reasons: reasons"))
    assert "REASONS_MISSING" in codes(result)


def test_action_without_reason_and_unknown_action(tmp_path):
    checks = CHECKS.replace("{action: DECLINE, reason: R1}", "{action: DECLINE}") \
        .replace("{action: REFER, reason: R2}", "{action: REFFER, reason: R2}")
    result = load_files(tmp_path, rules__checks_yaml=checks)
    assert sorted(codes(result)) == ["EFFECT_ACTION", "EFFECT_REASON"]
    action = next(d for d in errors(result) if d.code == "EFFECT_ACTION")
    assert "did you mean 'REFER'" in action.message


def test_feature_cycle(tmp_path):
    policy = POLICY.replace("  double: a * 2\n", "  double: a * 2\n  x: y + 1\n  y: x + 1\n")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    cycles = [d for d in errors(result) if d.code == "FEATURE_CYCLE"]
    assert len(cycles) == 1
    assert "x -> y -> x" in cycles[0].message or "y -> x -> y" in cycles[0].message
    assert cycles[0].location.file == "policies/p/x.yaml"
    assert cycles[0].location.line in (position(policy, "x: y")[0], position(policy, "y: x")[0])


def test_feature_referring_to_itself(tmp_path):
    policy = POLICY.replace("  double: a * 2\n", "  double: double * 2\n")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert "FEATURE_CYCLE" in codes(result)
    cycle = next(d for d in errors(result) if d.code == "FEATURE_CYCLE")
    assert "refers to itself" in cycle.message


def test_features_may_be_written_in_any_order(tmp_path):
    policy = POLICY.replace("  double: a * 2\n", "  quad: double * 2\n  double: a * 2\n")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert result.ok
    assert run(result.policies["p.x"], a=3).trace.values["quad"] == 12


@pytest.mark.parametrize("file, old, new, key, suggestion", [
    ("rules/checks.yaml", "hit_policy: collect", "hit_policy: collect\nzzz: 1", "zzz", None),
    ("rules/checks.yaml", "name: {zh", "nmae: {zh", "nmae", "name"),
    ("rules/checks.yaml", "    when: a > 10", "    when: a > 10\n    priorty: 3", "priorty",
     "priority"),
    ("rules/grade.yaml", "hit_policy: first", "hit_policy: first\nwhen_nome: 1", "when_nome",
     "when_none"),
    ("policies/p/x.yaml", "features:", "featurez: {}\nfeatures:", "featurez", "features"),
    ("policies/p/x.yaml", "  a: integer", "  a: {type: integer, mni: 0}", "mni", "min"),
    ("policies/p/x.yaml", "  - {id: checks", "  - {id: checks, ruelset: x", "ruelset", None),
])
def test_unknown_keys_with_suggestion(tmp_path, file, old, new, key, suggestion):
    files = base_files()
    assert old in files[file]
    files[file] = files[file].replace(old, new, 1)
    result = load_policy_root(write(tmp_path, files))
    [unknown] = errors(result)
    assert unknown.code in ("UNKNOWN_KEY", "INPUT_KEY")
    assert f"'{key}'" in unknown.message
    assert (unknown.location.file, unknown.location.line) == (file, position(files[file], key)[0])
    if suggestion:
        assert f"did you mean '{suggestion}'" in unknown.message


@pytest.mark.parametrize("new", ["featurez: {}\nfeatures:", "featurez:\n  x: a\nfeatures:"])
def test_unknown_key_is_located_at_the_key(tmp_path, new):
    """Regression: unknown keys were located at their value, not the key."""
    files = base_files()
    files["policies/p/x.yaml"] = POLICY.replace("features:", new)
    [unknown] = errors(load_policy_root(write(tmp_path, files)))
    assert (unknown.location.line, unknown.location.column) == \
        position(files["policies/p/x.yaml"], "featurez")


@pytest.mark.parametrize("old, new, code, fragment", [
    ("hit_policy: collect", "hit_policy: colect", "HIT_POLICY", "did you mean 'collect'"),
    ("hit_policy: collect\n", "", "HIT_POLICY", "needs a hit_policy"),
])
def test_hit_policy_problems(tmp_path, old, new, code, fragment):
    result = load_files(tmp_path, rules__checks_yaml=CHECKS.replace(old, new))
    assert codes(result) == [code]
    assert fragment in errors(result)[0].message


def test_table_rejects_the_priority_hit_policy(tmp_path):
    result = load_files(tmp_path, rules__grade_yaml=GRADE.replace("first", "priority"))
    assert codes(result) == ["HIT_POLICY"]


def test_collect_rule_set_cannot_set_outputs(tmp_path):
    checks = CHECKS.replace("hit_policy: collect\n",
                            "hit_policy: collect\noutputs:\n  level: {type: integer}\n")
    result = load_files(tmp_path, rules__checks_yaml=checks)
    assert codes(result) == ["RULESET_OUTPUTS"]


def test_priority_rule_set_needs_priorities(tmp_path):
    result = load_files(tmp_path, rules__checks_yaml=CHECKS.replace("collect", "priority"))
    assert codes(result) == ["RULE_PRIORITY", "RULE_PRIORITY"]


def test_set_value_typo_with_suggestion(tmp_path):
    grade = GRADE.replace("then: {grade: G1}", "then: {grade: G3}")
    result = load_files(tmp_path, rules__grade_yaml=grade)
    [bad] = errors(result)
    assert bad.code == "SET_VALUE" and (bad.location.line, bad.location.column) == \
        position(grade, "G3")


def test_unknown_output_and_unknown_set_target(tmp_path):
    policy = POLICY.replace("outputs: [grade]", "outputs: [grad]")
    grade = GRADE.replace("then: {grade: G1}", "then: {grad: G1}")
    result = load_files(tmp_path, policies__p__x_yaml=policy, rules__grade_yaml=grade)
    assert sorted(codes(result)) == ["OUTPUT_UNKNOWN", "SET_UNKNOWN"]
    assert all("did you mean 'grade'" in d.message for d in errors(result))


def test_input_schema_problems(tmp_path):
    policy = POLICY.replace("  a: integer", "  a: integr\n  Bad: string\n  k: {type: enum}\n"
                            "  l: {type: list}\n  m: {type: string, pii: passport}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    found = codes(result)
    # `a` is now unknown, so the two expressions reading it fail as well.
    assert sorted(c for c in found if c.startswith("INPUT")) == [
        "INPUT_ENUM", "INPUT_LIST", "INPUT_NAME", "INPUT_PII", "INPUT_TYPE"]
    typo = next(d for d in errors(result) if d.code == "INPUT_TYPE")
    assert "did you mean 'integer'" in typo.message
    assert (typo.location.line, typo.location.column) == position(policy, "integr")


def test_name_used_twice(tmp_path):
    policy = POLICY.replace("  double: a * 2\n", "  double: a * 2\n  grade: a + 1\n")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert codes(result) == ["NAME_TAKEN"]


def test_unused_document_is_a_warning(tmp_path):
    result = load_files(tmp_path, rules__spare_yaml=ruleset("spare", [
        {"id": "S-1", "when": "nonsense > 1", "then": {"action": "DECLINE", "reason": "R1"}}]))
    assert result.ok
    [warning] = result.diagnostics
    assert (warning.code, warning.severity, warning.location.file) == \
        ("DOC_UNUSED", "warning", "rules/spare.yaml")


def test_a_root_with_any_error_serves_no_policy(tmp_path):
    files = base_files()
    files["policies/q/y.yaml"] = POLICY.replace("policy: p.x", "policy: q.y") \
        .replace("a * 2", "a * nope")
    result = load_policy_root(write(tmp_path, files))
    assert codes(result) == ["EXPR_UNKNOWN_NAME"]
    assert result.policies == {}
    parts, _ = build_policies(files)
    assert set(parts) == {"p.x"}  # the valid one did build; the root as a whole is refused


def test_policy_name_format(tmp_path):
    result = load_files(tmp_path, policies__p__x_yaml=POLICY.replace("policy: p.x", "policy: PX"))
    assert "POLICY_NAME" in codes(result)


def test_rule_tests_folder_is_not_part_of_the_policy(tmp_path):
    files = base_files()
    files["policies/p/tests/cases.yaml"] = "policy: p.x\ncases: []\n"
    write(tmp_path, files)
    assert "policies/p/tests/cases.yaml" not in read_policy_root(tmp_path)
    assert load_policy_root(tmp_path).ok


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


# --- input parsing ------------------------------------------------------------------------------
def test_parse_input_reports_every_error_by_path(tmp_path):
    policy = load_policy_root(write(tmp_path, base_files())).policies["p.x"]
    with pytest.raises(InputError) as error:
        policy.parse_input({"a": "12", "e": "PURPLE", "s": 5, "zzz": 1})
    assert set(error.value.errors) == {"decision_date", "a", "e", "s", "zzz"}


def test_parse_input_types(tmp_path):
    files = base_files()
    files["policies/p/x.yaml"] = POLICY.replace(
        "  s: string\n", "  s: string\n  d: {type: decimal, min: 0, max: 1}\n"
                         "  flag: boolean\n")
    policy = load_policy_root(write(tmp_path, files)).policies["p.x"]
    typed = policy.parse_input({"decision_date": "2026-11-28", "d": 0.1, "flag": True})
    assert typed["d"] == Decimal("0.1") and isinstance(typed["d"], Decimal)
    assert policy.parse_input({"decision_date": "2026-11-28", "d": "0.55"})["d"] == \
        Decimal("0.55")
    for bad in ({"d": "1.5"}, {"d": -1}, {"flag": "true"}, {"flag": 1}, {"a": 1.5},
                {"a": True}, {"decision_date": "2026-13-01"}, {"decision_date": None}):
        with pytest.raises(InputError):
            policy.parse_input({"decision_date": "2026-11-28", **bad})
    with pytest.raises(InputError):
        policy.parse_input(["not", "an", "object"])


def test_string_pattern_must_match_the_whole_value(tmp_path):
    files = base_files()
    files["policies/p/x.yaml"] = POLICY.replace(
        "  s: string\n", '  s: string\n  city: {type: string, pattern: "^[1-8][0-9]{5}$"}\n')
    policy = load_policy_root(write(tmp_path, files)).policies["p.x"]
    assert policy.parse_input({"decision_date": "2026-11-28", "city": "110100"})["city"] == \
        "110100"
    with pytest.raises(InputError) as error:
        policy.parse_input({"decision_date": "2026-11-28", "city": "110100\n"})
    assert "city" in error.value.errors


# --- the loader never raises ----------------------------------------------------------------------
import copy as _copy  # noqa: E402

import yaml as _yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CARD = """\
scorecard: card
base_points: 100
max_reasons: 2
characteristics:
  - id: CH-A
    input: a
    bins:
      - {id: A-1, when: "< 10", points: 0, reason: R1}
      - {id: A-2, when: "[10, 20)", points: 20, reason: R2}
      - {id: A-3, when: ">= 20", points: 30}
      - {id: A-M, when: missing, points: -10, reason: R3}
bands:
  - {band: A, min: 120}
  - {band: B, min: 100, action: REFER, reason: R4}
  - {band: C, action: DECLINE, reason: R5}
"""

FULL_POLICY = POLICY.replace(
    "  - {id: grade, table: grade}\n",
    "  - {id: grade, table: grade}\n  - {id: score, scorecard: card}\n") + """\
parameters:
  minimum_limit: 1000
limit:
  base: a * 100
  caps:
    - {id: CAP-1, name: {zh: 上限, en: Cap}, value: double * 1000}
  round_down_to: 1000
  minimum: params.minimum_limit
  below_minimum: {action: DECLINE, reason: R1}
  when_missing: {action: REFER, reason: R2}
"""


def full_files() -> dict[str, str]:
    files = base_files()
    files["policies/p/x.yaml"] = FULL_POLICY
    files["rules/card.yaml"] = CARD
    return files


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


_DOCS = {path: _yaml.safe_load(text) for path, text in full_files().items()}
_TARGETS = [(path, p) for path, doc in sorted(_DOCS.items()) for p in _paths(doc) if p]
_REPLACEMENTS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=6),
    st.sampled_from(["-", "missing", "exists", "else", ">= x", "[1, 2)", "(, )", "a > 1",
                     "a +", "RED", "collect", "unique", "DECLINE", "R1", "R9", "integer",
                     "enum", "codes", "grade", "checks", "__import__('os')", "1.5", "2026-01-01"]),
    st.lists(st.integers(0, 3), max_size=2), st.just({"k": 1}), st.just({}), st.just([]))


def test_the_full_base_policy_loads_cleanly(tmp_path):
    result = load_policy_root(write(tmp_path, full_files()))
    assert result.ok, [str(d) for d in result.diagnostics]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(_TARGETS), replacement=_REPLACEMENTS,
       drop=st.booleans())
def test_the_loader_reports_instead_of_raising(target, replacement, drop):
    path, node_path = target
    document = _copy.deepcopy(_DOCS[path])
    parent = document
    for part in node_path[:-1]:
        parent = parent[part]
    dropped = drop and isinstance(parent, dict)
    if dropped:
        del parent[node_path[-1]]
    else:
        parent[node_path[-1]] = replacement
    files = full_files()
    files[path] = _yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    parts, diagnostics = build_policies(files)  # must not raise
    for diagnostic in diagnostics:
        assert diagnostic.severity in ("error", "warning")
        assert diagnostic.location is None or diagnostic.location.file in files
        assert diagnostic.message
    errors_found = [d for d in diagnostics if d.severity == "error"]
    if "p.x" not in parts:
        assert errors_found
    else:  # built: no error in any file the policy uses (an unused file may have errors)
        assert not [d for d in errors_found if d.location and d.location.file in
                    parts["p.x"].files]
        # whatever still loads must decide without raising
        from app.engine import Policy
        policy = Policy(parts["p.x"])
        for sample in ({}, {"a": 11, "e": "RED", "s": "X1"}, {"a": 0, "e": "BLUE"}):
            data = {"decision_date": "2026-11-28"}
            data.update({k: v for k, v in sample.items() if k in policy.input_schema.fields})
            try:
                typed = policy.parse_input(data)
            except InputError:
                continue
            policy.decide(typed)


@pytest.mark.parametrize("target", ["[checks]", "{k: 1}"])
def test_stage_target_must_be_a_name(tmp_path, target):
    policy = POLICY.replace("ruleset: checks}", f"ruleset: {target}}}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert not result.ok
    assert {d.location.file for d in errors(result)} == {"policies/p/x.yaml"}


@pytest.mark.parametrize("outputs", ["[{k: 1}]", "{k: 1}"])
def test_outputs_must_be_names(tmp_path, outputs):
    policy = POLICY.replace("outputs: [grade]", f"outputs: {outputs}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert "OUTPUT_UNKNOWN" in codes(result) or not result.ok


def test_reasons_must_be_a_name(tmp_path):
    result = load_files(tmp_path, policies__p__x_yaml=POLICY.replace(
        "reasons: reason_codes", "reasons: [reason_codes]"))
    assert not result.ok
    assert {d.location.file for d in errors(result)} == {"policies/p/x.yaml"}


def test_a_policy_with_an_error_in_its_name_is_not_built():
    files = base_files()
    files["policies/p/x.yaml"] = POLICY.replace("name: {zh: 测试, en: Test}",
                                                "name: {zh: 测试, fr: x}")
    parts, diagnostics = build_policies(files)
    assert [d.code for d in diagnostics if d.severity == "error"] == ["NAME_LANGUAGE"]
    assert "p.x" not in parts


# --- inputs that parse must decide ---------------------------------------------------------------
def _parse_or_refuse(policy, raw):
    """The typed input, or None when parse_input refuses it with an InputError."""
    try:
        return policy.parse_input(raw)
    except InputError:
        return None


@pytest.mark.parametrize("value", ["1e999999", "1e9999999999"])
def test_a_decimal_that_parses_can_be_decided(tmp_path, value):
    policy = make_policy(tmp_path, features={"f": "d * 10"})
    typed = _parse_or_refuse(policy, {"decision_date": "2026-11-28", "d": value})
    if typed is not None:
        decision = policy.decide(typed)
        canonical_json(decision.trace.to_dict())


def test_a_string_that_parses_can_be_serialised(tmp_path):
    policy = make_policy(tmp_path)
    typed = _parse_or_refuse(policy, {"decision_date": "2026-11-28", "s": "a\ud800b"})
    if typed is not None:
        decision = policy.decide(typed)
        canonical_json(decision.trace.to_dict()).encode("utf-8")


def test_a_huge_decimal_input_floored_can_be_serialised(tmp_path):
    policy = make_policy(tmp_path, features={"f": "floor(d)"})
    typed = _parse_or_refuse(policy, {"decision_date": "2026-11-28", "d": "1e5000"})
    if typed is not None:
        canonical_json(policy.decide(typed).trace.to_dict())
