"""Hostile rule files are located diagnostics in bounded time and memory, never a hang or a crash
of `policy check` and reload; a policy that loads never raises while deciding.

(Each case below hung for minutes, grew to gigabytes, or raised RecursionError, MemoryError,
ValueError or decimal.Overflow before.)"""
import datetime

import pytest

from engine.read.samples import CHECKS, POLICY, load_files


def codes(result):
    return {d.code for d in result.diagnostics if d.severity == "error"}


def located(result, code):
    found = [d for d in result.diagnostics if d.code == code]
    assert found, [str(d) for d in result.diagnostics]
    assert all(d.location.file and d.location.line for d in found), [str(d) for d in found]
    return found[0]


def with_when(when):
    return CHECKS.replace("when: a > 10", f"when: {when}")


def with_feature(expression):
    return POLICY.replace("double: a * 2", f"double: a * 2\n  hostile: {expression}")


def test_four_thousand_anded_comparisons_are_too_long(tmp_path):
    result = load_files(tmp_path, rules__checks_yaml=with_when(" and ".join(["a > 1"] * 4000)))
    located(result, "EXPR_TOO_LONG")


def test_a_long_expression_within_the_limit_checks_in_linear_time(tmp_path):
    result = load_files(tmp_path, rules__checks_yaml=with_when(" and ".join(["a > 1"] * 390)))
    assert result.ok, [str(d) for d in result.diagnostics]


def test_an_alias_bomb_is_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    assert len(bomb) < 600
    result = load_files(tmp_path, rules__unused_yaml=bomb)
    located(result, "YAML_TOO_LARGE")


def test_a_recursive_alias_is_refused(tmp_path):
    result = load_files(tmp_path, rules__unused_yaml="list: &x [*x]\n")
    assert codes(result) & {"YAML_ALIAS", "YAML_SYNTAX"}, [str(d) for d in result.diagnostics]


def test_shared_aliases_within_bounds_still_load(tmp_path):
    unused = 'list: unused\ntype: string\nvalues: &v ["U"]\nalso: *v\n'
    result = load_files(tmp_path, rules__unused_yaml=unused)
    assert "YAML_TOO_LARGE" not in codes(result) and "YAML_ALIAS" not in codes(result)


@pytest.mark.parametrize("nesting", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000])
def test_deeply_nested_yaml_is_a_diagnostic(tmp_path, nesting):
    result = load_files(tmp_path, rules__unused_yaml=f"list: {nesting}\n")
    assert codes(result) & {"YAML_TOO_DEEP", "YAML_SYNTAX"}, [str(d) for d in result.diagnostics]


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    result = load_files(tmp_path, rules__unused_yaml="# " + "x" * 1_100_000 + "\nlist: unused\n")
    located(result, "YAML_TOO_LARGE")


@pytest.mark.parametrize("expression, code", [
    ("not " * 5000 + "true", "EXPR_TOO_LONG"),
    ("not " * 900 + "true", "EXPR_TOO_DEEP"),
    ("-" * 100000 + "a", "EXPR_TOO_LONG"),
    ("(" * 1500 + "a" + ")" * 1500, "EXPR_SYNTAX"),  # Python's own limit on parentheses
    ("a + 0x" + "f" * 3000, "EXPR_NUMBER_TOO_LARGE"),
    ("0x" + "f" * 60, "YAML_NUMBER"),  # a YAML number, not an expression
    ("1" * 3000, "YAML_NUMBER"),
    ("a * 1E+999999 * 1E+999999", "EXPR_NUMBER_TOO_LARGE"),
    ("a * 0.0000000000000000000001", "EXPR_NUMBER_TOO_LARGE"),
])
def test_hostile_features_are_located_diagnostics(tmp_path, expression, code):
    result = load_files(tmp_path, policies__p__x_yaml=with_feature(expression))
    located(result, code)


def test_the_same_in_a_condition(tmp_path):
    result = load_files(tmp_path, rules__checks_yaml=with_when("a * 1E+999999 * 1E+999999 > 0"))
    located(result, "EXPR_NUMBER_TOO_LARGE")


def test_features_that_could_grow_without_bound_are_refused(tmp_path):
    squares = "double: a * 2\n  f1: a * a\n" + "".join(f"  f{i}: f{i - 1} * f{i - 1}\n" for i in range(2, 8))
    result = load_files(tmp_path, policies__p__x_yaml=POLICY.replace("double: a * 2\n", squares))
    diagnostic = located(result, "FEATURE_TOO_LARGE")
    assert "'f6'" in diagnostic.message  # 18 * 2**6 digits is the first past 10**1000


def test_a_computation_that_fails_on_some_input_is_missing_not_an_exception(tmp_path):
    policy = with_feature("date_add_months(decision_date, a)")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert result.ok, [str(d) for d in result.diagnostics]
    decided = result.policies["p.x"]
    for a in (10 ** 17, -(10 ** 17), 0, 5):
        typed = decided.parse_input({"decision_date": "2026-01-01", "a": a, "e": "RED", "s": "x"})
        decision = decided.decide(typed)
        hostile = decision.trace.to_dict()["features"]["hostile"]
        assert (hostile is None) == (abs(a) > 10 ** 6), (a, hostile)
    assert datetime.date  # the feature yields a date for ordinary inputs (checked above)


@pytest.mark.parametrize("tagged", [
    "values: !!python/object/apply:os.system ['echo hi']",
    "values: !!python/name:os.system",
    "values: !custom [U]",
    "values: !!binary aGk=",
    "values: !!set {U: null}",
])
def test_a_yaml_tag_is_a_located_error_not_a_value_read_as_untagged(tmp_path, tagged):
    """A tag was ignored: the list read as if untagged, while a reviewer reading the file saw an
    object to be built (or a tag meaning something to another tool)."""
    unused = f"list: unused\ntype: string\n{tagged}\n"
    problem = located(load_files(tmp_path, rules__unused_yaml=unused), "YAML_TAG")
    assert (problem.location.line, problem.location.column) == (3, 9)
    assert "remove" in problem.message


def test_an_id_of_a_hundred_thousand_characters_is_refused(tmp_path):
    """Ids name rules in every stored decision's hits, the trace, the console and the rule-hit
    metric's labels: one from a pasted paragraph loaded before."""
    result = load_files(tmp_path, rules__checks_yaml=CHECKS.replace("C-1", "C-" + "x" * 100_000))
    problem = located(result, "ID_INVALID")
    assert "at most 64 characters" in problem.message
    assert load_files(tmp_path, rules__checks_yaml=CHECKS.replace("C-1", "C-" + "x" * 62)).ok


@pytest.mark.parametrize("when, masked", [
    ('idn == "11010519491231002X"', "11**************2X"),
    ('idn in ["11010519491231002X", "X"]', "11**************2X"),
    ('ph == "13812345678"', "138****5678"),
    ('s == "6222020200112233446"', "622202*********3446"),  # Luhn-valid
])
def test_personal_data_in_a_rule_file_is_an_error_masked(tmp_path, when, masked):
    """A rule naming one applicant by ID, phone or card loaded: the number then stored in clear in
    every release and policy version, shown in the console and diffs, past the lists' keyed hashes
    and four eyes."""
    policy = POLICY.replace("  s: string\n", "  s: string\n  idn: {type: string, pii: resident_id}\n"
                            "  ph: {type: string, pii: phone}\n")
    result = load_files(tmp_path, policies__p__x_yaml=policy,
                        rules__checks_yaml=with_when(f"'{when}'"))
    problem = located(result, "PERSONAL_DATA")
    assert problem.severity == "error" and masked in problem.message and "in_list" in problem.message
    clear = when.split('"')[1]
    assert clear not in problem.message


def test_numbers_that_are_no_personal_data_still_load(tmp_path):
    """Prefixes, region codes, amounts and an ID-shaped number whose check digit is wrong."""
    result = load_files(tmp_path, rules__checks_yaml=with_when(
        '\'s in ["170", "1700", "330100", "11010519491231002Y", "1234567890123456"]\''))
    assert "PERSONAL_DATA" not in codes(result), [str(d) for d in result.diagnostics]
