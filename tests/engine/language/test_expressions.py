"""Parsing and checking expressions: what is rejected, with which code, and where."""
from __future__ import annotations

import pytest

from engine.support import codes, errors, load, load_condition, ruleset, run


# --- rejections ---------------------------------------------------------------------------------
@pytest.mark.parametrize("when, code, fragment", [
    ("_a > 1", "EXPR_UNDERSCORE", "'_'"),
    ("a.__class__ == 1", "EXPR_UNDERSCORE", "'_'"),
    ("__import__(\"os\") == 1", "EXPR_UNDERSCORE", "'_'"),
    ("import os", "EXPR_SYNTAX", "imports are not allowed"),
    ("(lambda: 1)() == 1", "EXPR_NOT_ALLOWED", "lambda"),
    ("len({t for t in tags}) > 0", "EXPR_NOT_ALLOWED", "comprehensions"),
    ("len(t for t in tags) > 0", "EXPR_NOT_ALLOWED", "inside any, all, none, count"),
    ("sorted(tags) == tags", "EXPR_UNKNOWN_FUNCTION", "not available"),
    ("s.lower() == \"a\"", "EXPR_METHOD_CALL", "method calls are not allowed"),
    ("tags[0] == \"a\"", "EXPR_NOT_ALLOWED", "indexing"),
    ("flagg == true", "EXPR_UNKNOWN_NAME", "did you mean 'flag'"),
    ("person.mobil == \"1\"", "EXPR_UNKNOWN_NAME", "did you mean 'person.mobile'"),
    ("lenn(s) > 1", "EXPR_UNKNOWN_FUNCTION", "did you mean 'len'"),
    ("eval(\"1\") == 1", "EXPR_UNKNOWN_FUNCTION", "not available in rules"),
    ("params.limitt > 1", "EXPR_UNKNOWN_PARAM", "did you mean 'limit'"),
    ("s in lists.citys", "EXPR_UNKNOWN_LIST", "did you mean 'cities'"),
    ("person > 1", "EXPR_SECTION", "section"),
    ("s > 3", "EXPR_TYPE", "compares string with integer"),
    ("\"A\" > 3", "EXPR_TYPE", "compares"),
    ("day > 3", "EXPR_TYPE", "compares date"),
    ("flag > false", "EXPR_TYPE", "compares boolean"),
    ("a + s > 1", "EXPR_TYPE", "arithmetic needs numbers"),
    ("day + 1 > day2", "EXPR_TYPE", "days_between"),
    ("a and b", "EXPR_TYPE", "needs true/false"),
    ("not a", "EXPR_TYPE", "needs true/false"),
    ("e == \"REDD\"", "EXPR_ENUM_VALUE", "did you mean 'RED'"),
    ("\"GREEM\" == e", "EXPR_ENUM_VALUE", "did you mean 'GREEN'"),
    ("e in [\"RED\", \"BLU\"]", "EXPR_ENUM_VALUE", "did you mean 'BLUE'"),
    ("a is None", "EXPR_IS", "missing(x)"),
    ("a is not None", "EXPR_IS", "exists(x)"),
    ("a == None", "EXPR_NULL", "missing(x)"),
    ("a != null", "EXPR_NULL", "missing(x)"),
    ("a = 1", "EXPR_SYNTAX", "use =="),
    ("a > > 1", "EXPR_SYNTAX", "invalid expression"),
    ("a in [b, 1]", "EXPR_LIST_ITEM", "constants"),
    ("a in [1, \"x\"]", "EXPR_LIST_TYPES", "one type"),
    ("a in s", "EXPR_TYPE", "'in' needs a list"),
    ("s in nums", "EXPR_TYPE", "looks for string"),
    ("len(lists.cities) > 1", "EXPR_LIST", "only follow 'in'"),
    ("abs(s) > 1", "EXPR_CALL", "argument 1 must be"),
    ("months_between(a, day) > 1", "EXPR_CALL", "must be date"),
    ("exists(a, b)", "EXPR_CALL", "takes 1 argument"),
    ("round(d, d) > 1", "EXPR_CALL", "whole number of digits"),
    ("round(d, digits=1) > 1", "EXPR_KEYWORD_ARGUMENT", "by position"),
    ("len(a) > 1", "EXPR_CALL", "argument 1"),
    ("(\"x\" if flag else 1) == 1", "EXPR_TYPE", "both branches"),
    ("~a > 1", "EXPR_NOT_ALLOWED", "bitwise"),
    ("a ** 2 > 1", "EXPR_NOT_ALLOWED", "only + - * / // %"),
    ("a & b > 1", "EXPR_NOT_ALLOWED", "only + - * / // %"),
    ("{1: 2} == a", "EXPR_NOT_ALLOWED", "mappings"),
    ("f\"{s}\" == \"a\"", "EXPR_NOT_ALLOWED", "f-strings"),
    ("(x := a) > 1", "EXPR_NOT_ALLOWED", ":="),
    ("len == 1", "EXPR_FUNCTION_VALUE", "call it"),
    ("a + 1", "CONDITION_TYPE", "not true/false"),
])
def test_rejected_expressions(tmp_path, when, code, fragment):
    result = _load_with_extras(tmp_path, when)
    assert not result.ok and result.policies == {}
    found = errors(result)
    assert [d.code for d in found] == [code], [str(d) for d in found]
    assert fragment in found[0].message
    assert found[0].location.file == "rules/r.yaml"
    assert found[0].location.line == 5  # the line of the rule's `when`


def _load_with_extras(tmp_path, when):
    rules = {"r": ruleset("r", [
        {"id": "BAD", "when": when, "then": {"action": "DECLINE", "reason": "R1"}},
        {"id": "OK", "when": "a > 1", "then": {"action": "DECLINE", "reason": "R2"}},
    ]), "cities": "list: cities\ntype: string\nvalues: ['110100']\n"}
    return load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], parameters={"limit": 5})


def test_rejected_expression_in_a_feature_is_located_in_the_policy_file(tmp_path):
    result = load(tmp_path, features={"ok": "a + 1", "bad": "a + bogus"})
    [error] = errors(result)
    assert error.code == "EXPR_UNKNOWN_NAME"
    text = (tmp_path / "policies/p/x.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text, 1) if "bad:" in t)
    assert (error.location.file, error.location.line) == ("policies/p/x.yaml", line)
    assert error.location.column == text[line - 1].index("bogus") + 1


def test_computation_in_a_condition_is_a_warning_not_an_error(tmp_path):
    result = load_condition(tmp_path, "a + b > 5")
    assert result.ok
    # (the test policy declares a field of every type, and its rule reads optional fields)
    warnings = [d for d in result.diagnostics if d.severity == "warning"
                and d.code not in ("INPUT_UNUSED", "FAILS_OPEN")]
    assert [d.code for d in warnings] == ["CONDITION_COMPUTES"]
    policy = result.policies["p.x"]
    assert run(policy, a=3, b=3).trace.matched()["BAD"] is True
    assert run(policy, a=3).trace.matched()["BAD"] is False


def test_rule_set_whose_only_rule_is_invalid_is_reported_not_a_crash(tmp_path):
    """Regression: the loader generated 'return (,)' and raised SyntaxError."""
    result = load(tmp_path, {"r": ruleset("r", [
        {"id": "BAD", "when": "bogus > 1", "then": {"action": "DECLINE", "reason": "R1"}}])},
        stages=[{"id": "r", "ruleset": "r"}])
    assert codes(result) == ["EXPR_UNKNOWN_NAME"]


# --- error positions ----------------------------------------------------------------------------
def _position_of_error(tmp_path, when_lines: str, flow: bool = False):
    if flow:
        rule = f"  - {{id: BAD, when: {when_lines}, then: {{action: DECLINE, reason: R1}}}}\n"
    else:
        rule = ("  - id: BAD\n" + when_lines +
                "    then: {action: DECLINE, reason: R1}\n")
    text = ("ruleset: r\nhit_policy: collect\nrules:\n" + rule +
            "  - {id: OK, when: a > 1, then: {action: DECLINE, reason: R2}}\n")
    result = load(tmp_path, {"r": text}, stages=[{"id": "r", "ruleset": "r"}])
    [error] = errors(result)
    return error, text.splitlines()


def _expected(lines, token, occurrence_line=None):
    for number, line in enumerate(lines, 1):
        if token in line and (occurrence_line is None or number == occurrence_line):
            return number, line.index(token) + 1
    raise AssertionError(token)


@pytest.mark.parametrize("when", [
    "    when: a > 1 and bogus > 2\n",
    "    when: \"a > 1 and bogus > 2\"\n",
    "    when: 'a > 1 and bogus > 2'\n",
    "    when:   a > 1 and bogus > 2\n",
    "    when: s == \"张三李四\" and bogus > 2\n",
    "    when: '(s == \"北京市\" or s == \"上海\") and bogus > 2'\n",
])
def test_error_position_in_the_middle_of_an_expression(tmp_path, when):
    error, lines = _position_of_error(tmp_path, when)
    assert error.code == "EXPR_UNKNOWN_NAME"
    assert (error.location.file, error.location.line, error.location.column) == \
        ("rules/r.yaml", *_expected(lines, "bogus"))


def test_error_position_in_a_flow_mapping(tmp_path):
    error, lines = _position_of_error(tmp_path, "s == \"中文\" and bogus > 2", flow=True)
    assert (error.location.line, error.location.column) == _expected(lines, "bogus")
    assert error.location.line == 4


def test_type_error_position_points_at_the_comparison(tmp_path):
    error, lines = _position_of_error(tmp_path, "    when: a > 1 and s > 3\n")
    assert error.code == "EXPR_TYPE"
    assert (error.location.line, error.location.column) == _expected(lines, "s > 3")


def test_enum_typo_position_after_chinese_text(tmp_path):
    error, lines = _position_of_error(tmp_path, "    when: s == \"浙江省杭州市\" and e == \"GREEM\"\n")
    assert error.code == "EXPR_ENUM_VALUE"
    assert (error.location.line, error.location.column) == _expected(lines, "e == ")


def test_diagnostic_renders_file_line_column(tmp_path):
    error, lines = _position_of_error(tmp_path, "    when: a > 1 and bogus > 2\n")
    line, column = _expected(lines, "bogus")
    assert str(error).startswith(f"rules/r.yaml:{line}:{column}: error EXPR_UNKNOWN_NAME")


@pytest.mark.parametrize("indicator", [">-", "|-"])
def test_error_position_in_a_block_scalar(tmp_path, indicator):
    """Regression: errors in block scalars were located on the indicator's line."""
    error, lines = _position_of_error(
        tmp_path, f"    when: {indicator}\n      a > 1\n      and bogus > 2\n")
    assert (error.location.line, error.location.column) == _expected(lines, "bogus")


def test_error_position_after_a_quote_escape(tmp_path):
    """Regression: columns after a quote escape ('') were reported too far left."""
    error, lines = _position_of_error(tmp_path, "    when: 's == ''x'' and bogus > 2'\n")
    assert (error.location.line, error.location.column) == _expected(lines, "bogus")


@pytest.mark.parametrize("when", ["not " * 500 + "flag", "a" + " + a" * 3000 + " > 1"])
def test_deeply_nested_expression_is_reported_not_a_crash(tmp_path, when):
    result = load_condition(tmp_path, when)
    assert result.ok or [d.location.file for d in errors(result)] == ["rules/r.yaml"]


def test_deep_parentheses_are_fine_up_to_the_parser_limit(tmp_path):
    result = load_condition(tmp_path, "(" * 150 + "a" + ")" * 150 + " > 1")
    assert result.ok
    result = load_condition(tmp_path / "deeper", "(" * 300 + "a" + ")" * 300 + " > 1")
    assert codes(result) == ["EXPR_SYNTAX"]
