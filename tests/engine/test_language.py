"""The expression language: values, conditions, rejections, error positions, missing data."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from helpers import (codes, errors, feature_policy, feature_value, fires, load, make_policy,
                     rule_policy, ruleset, run)

D = Decimal


def date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


# --- arithmetic ---------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, fields, expected", [
    ("a + b", {"a": 2, "b": 3}, 5),
    ("a - b", {"a": 2, "b": 3}, -1),
    ("a * b", {"a": 4, "b": 3}, 12),
    ("a + b * 2", {"a": 1, "b": 3}, 7),
    ("(a + b) * 2", {"a": 1, "b": 3}, 8),
    ("a // b", {"a": 7, "b": 2}, 3),
    ("a // b", {"a": -7, "b": 2}, -4),
    ("a % b", {"a": 7, "b": 3}, 1),
    ("-a", {"a": 5}, -5),
    ("+a", {"a": 5}, 5),
])
def test_integer_arithmetic(tmp_path, expression, fields, expected):
    value = feature_value(tmp_path, expression, **fields)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize("expression, fields, expected", [
    ("a / b", {"a": 1, "b": 2}, D("0.5")),
    ("a / b", {"a": 1, "b": 3}, D("0.3333333333333333333333333333")),
    ("d + d2", {"d": "0.1", "d2": "0.2"}, D("0.3")),  # exact, never a binary float
    ("d * 3", {"d": "0.1"}, D("0.3")),
    ("a * 0.5", {"a": 7}, D("3.5")),
    ("a + d", {"a": 1, "d": "0.25"}, D("1.25")),
    ("d - 1", {"d": "0.25"}, D("-0.75")),
    ("a * params.rate", {"a": 200}, D("1.2")),
])
def test_decimal_arithmetic_is_exact(tmp_path, expression, fields, expected):
    # A decimal parameter is written as a YAML number: it is read from its text, not a float.
    policy = feature_policy(tmp_path, {"f": expression}, parameters={"rate": 0.006})
    value = run(policy, **fields).trace.values["f"]
    assert isinstance(value, Decimal)
    assert value == expected


def test_decimal_parameter_is_read_from_its_text_not_a_float(tmp_path):
    policy = feature_policy(tmp_path, {"f": "params.rate * 1000"}, parameters={"rate": 0.1})
    assert run(policy).trace.values["f"] == D("100.0")


@pytest.mark.parametrize("expression", ["a / b", "a // b", "a % b", "d / b", "a / d"])
def test_division_by_zero_is_missing(tmp_path, expression):
    assert feature_value(tmp_path, expression, a=7, b=0, d="0") is None


@pytest.mark.parametrize("expression", ["a + b", "a - b", "a * b", "a / b", "-b", "d * b",
                                        "abs(b)", "floor(d)", "len(s)"])
def test_arithmetic_with_a_missing_value_is_missing(tmp_path, expression):
    assert feature_value(tmp_path, expression, a=7) is None


def test_division_by_zero_makes_a_condition_false_either_way(tmp_path):
    policy = make_policy(
        tmp_path, {"r": ruleset("r", [
            {"id": "POS", "when": "ratio > 1", "then": {"action": "DECLINE", "reason": "R1"}},
            {"id": "NEG", "when": "not (ratio > 1)", "then": {"action": "REFER", "reason": "R2"}},
        ])}, features={"ratio": "a / b"}, stages=[{"id": "r", "ruleset": "r"}])
    assert run(policy, a=5, b=0).trace.matched() == {"POS": False, "NEG": False}
    assert run(policy, a=5, b=1).trace.matched() == {"POS": True, "NEG": False}
    assert run(policy, a=1, b=5).trace.matched() == {"POS": False, "NEG": True}


@pytest.mark.parametrize("expression, fields, expected", [
    ("d // 2", {"d": "-7"}, -4),
    ("d % 2", {"d": "-7"}, 1),
])
def test_floor_division_of_negative_decimal_floors_like_integers(tmp_path, expression, fields,
                                                                 expected):
    """Regression: // and % on decimals used to truncate toward zero (Decimal semantics)."""
    assert feature_value(tmp_path, expression, **fields) == expected


# --- comparisons and logic ----------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(0, False), (1, True), (5, True), (6, False),
                                             (None, False)])
def test_chained_comparison(tmp_path, value, expected):
    policy = rule_policy(tmp_path, "0 < a <= 5")
    assert fires(policy, a=value) is expected


def test_chained_comparison_as_a_value(tmp_path):
    policy = feature_policy(tmp_path, {"f": "a < b < c"})
    assert run(policy, a=1, b=2, c=3).trace.values["f"] is True
    assert run(policy, a=1, b=3, c=3).trace.values["f"] is False
    assert run(policy, a=1, b=2).trace.values["f"] is None


@pytest.mark.parametrize("when, fields, expected", [
    ("5 < a", {"a": 6}, True),
    ("5 < a", {"a": 5}, False),
    ("a >= 5", {"a": 5}, True),
    ("a != 5", {"a": 4}, True),
    ("a == 5", {"a": 5}, True),
    ("a < b", {"a": 1, "b": 2}, True),
    ("a < b", {"a": 2, "b": 2}, False),
    ("d > 0.5", {"d": "0.51"}, True),
    ("d > 0.5", {"d": "0.5"}, False),
    ("d == 1", {"d": "1.00"}, True),
    ("day < day2", {"day": "2026-01-01", "day2": "2026-01-02"}, True),
    ("day >= decision_date", {"day": "2026-11-28"}, True),
    ("e == \"RED\"", {"e": "RED"}, True),
    ("e != \"RED\"", {"e": "BLUE"}, True),
    ("s == \"张三\"", {"s": "张三"}, True),
    ("s < \"b\"", {"s": "a"}, True),
    ("flag", {"flag": True}, True),
    ("flag", {"flag": False}, False),
    ("flag == false", {"flag": False}, True),
    ("flag == flag2", {"flag": True, "flag2": True}, True),
    ("true", {}, True),
    ("1 > 2", {}, False),
])
def test_comparisons(tmp_path, when, fields, expected):
    assert fires(rule_policy(tmp_path, when), **fields) is expected


@pytest.mark.parametrize("expression, fields, expected", [
    ("a > 5 or b > 5", {"b": 6}, True),        # unknown or true = true
    ("a > 5 or b > 5", {"b": 1}, None),        # unknown or false = unknown
    ("a > 5 and b > 5", {"b": 1}, False),      # unknown and false = false
    ("a > 5 and b > 5", {"b": 6}, None),       # unknown and true = unknown
    ("not (a > 5)", {}, None),
    ("not (a > 5)", {"a": 1}, True),
    ("a > 5 or b > 5", {"a": 1, "b": 1}, False),
    ("a > 5 and b > 5", {"a": 6, "b": 6}, True),
    ("not flag", {}, None),
    ("flag or flag2", {"flag2": True}, True),
])
def test_three_valued_logic_in_features(tmp_path, expression, fields, expected):
    assert feature_value(tmp_path, expression, **fields) is expected


@pytest.mark.parametrize("when, fields, expected", [
    ("a > 5 or b > 5", {"b": 6}, True),
    ("a > 5 or b > 5", {"b": 1}, False),
    ("a > 5 and b > 5", {"b": 6}, False),
    ("not (a > 5 and b > 5)", {"b": 1}, True),    # a <= 5 or b <= 5: the second holds
    ("not (a > 5 and b > 5)", {"b": 6}, False),
    ("not (a > 5 or b > 5)", {"b": 1}, False),    # a <= 5 and b <= 5: the first is unknown
    ("not (a > 5 or b > 5)", {"a": 1, "b": 1}, True),
])
def test_and_or_not_in_conditions(tmp_path, when, fields, expected):
    assert fires(rule_policy(tmp_path, when), **fields) is expected


# --- membership ---------------------------------------------------------------------------------
@pytest.mark.parametrize("when, fields, expected", [
    ("e in [\"RED\", \"BLUE\"]", {"e": "RED"}, True),
    ("e in [\"RED\", \"BLUE\"]", {"e": "GREEN"}, False),
    ("e not in [\"RED\", \"BLUE\"]", {"e": "GREEN"}, True),
    ("e not in [\"RED\", \"BLUE\"]", {"e": "RED"}, False),
    ("a in [1, 2, 3]", {"a": 2}, True),
    ("a not in [1, 2, 3]", {"a": 4}, True),
    ("d in [0.5, 1.5]", {"d": "0.50"}, True),
    ("s in [\"北京\", \"上海\"]", {"s": "上海"}, True),
    ("s in lists.cities", {"s": "110100"}, True),
    ("s in lists.cities", {"s": "999999"}, False),
    ("s not in lists.cities", {"s": "999999"}, True),
    ("\"vip\" in tags", {"tags": ["new", "vip"]}, True),
    ("\"vip\" in tags", {"tags": []}, False),
    ("\"vip\" not in tags", {"tags": []}, True),
    ("\"vip\" not in tags", {"tags": ["vip"]}, False),
    ("a in nums", {"a": 3, "nums": [1, 3]}, True),
    ("a not in nums", {"a": 2, "nums": [1, 3]}, True),
    ("\"RED\" in colours", {"colours": ["RED"]}, True),
    ("s in tags", {"s": "x", "tags": ["x"]}, True),
])
def test_membership(tmp_path, when, fields, expected):
    policy = rule_policy(tmp_path, when, lists={"cities": ("string", ["110100", "310100"])})
    assert fires(policy, **fields) is expected


@pytest.mark.parametrize("when, fields", [
    ("e in [\"RED\"]", {}),
    ("e not in [\"RED\"]", {}),
    ("s in lists.cities", {}),
    ("s not in lists.cities", {}),
    ("\"vip\" in tags", {}),
    ("\"vip\" not in tags", {}),
    ("a in nums", {"nums": [1]}),
    ("a not in nums", {"nums": [1]}),
    ("a not in nums", {"a": 1}),
])
def test_membership_on_missing_data_is_false(tmp_path, when, fields):
    policy = rule_policy(tmp_path, when, lists={"cities": ("string", ["110100"])})
    assert fires(policy, **fields) is False


# --- if/else ------------------------------------------------------------------------------------
def test_if_else(tmp_path):
    policy = feature_policy(tmp_path, {"f": '"HIGH" if a > 5 else "LOW"',
                                       "g": "a if flag else d"})
    assert run(policy, a=6).trace.values["f"] == "HIGH"
    assert run(policy, a=5).trace.values["f"] == "LOW"
    assert run(policy).trace.values["f"] is None  # the test is unknown
    assert run(policy, a=1, d="2.5", flag=False).trace.values["g"] == D("2.5")
    assert run(policy, a=1, d="2.5", flag=True).trace.values["g"] == 1


def test_if_else_feature_is_usable_in_a_condition(tmp_path):
    policy = make_policy(
        tmp_path, {"r": ruleset("r", [{"id": "HIT", "when": 'size == "BIG"',
                                       "then": {"action": "DECLINE", "reason": "HIT"}}])},
        features={"size": '"BIG" if a >= 10 else "SMALL"'}, stages=[{"id": "r", "ruleset": "r"}])
    assert fires(policy, a=10) and not fires(policy, a=9) and not fires(policy)


# --- functions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, fields, expected", [
    ("exists(a)", {"a": 0}, True),
    ("exists(a)", {}, False),
    ("missing(a)", {}, True),
    ("missing(a)", {"a": 0}, False),
    ("exists(tags)", {"tags": []}, True),
    ("coalesce(a, 0)", {}, 0),
    ("coalesce(a, 0)", {"a": 5}, 5),
    ("coalesce(a, b, 7)", {"b": 2}, 2),
    ("coalesce(a, b)", {}, None),
    ("min(a, b)", {"a": 3, "b": 2}, 2),
    ("min(a, b)", {"a": 3}, 3),            # missing arguments are ignored
    ("max(a, b, c)", {"c": -1}, -1),
    ("max(a, b)", {}, None),               # missing only if all are
    ("max(a, d)", {"a": 1, "d": "1.5"}, D("1.5")),
    ("min(day, day2)", {"day": "2026-01-02", "day2": "2026-01-01"}, date("2026-01-01")),
    ("abs(a)", {"a": -3}, 3),
    ("abs(d)", {"d": "-0.25"}, D("0.25")),
    ("floor(d)", {"d": "2.7"}, 2),
    ("floor(d)", {"d": "-2.5"}, -3),
    ("ceil(d)", {"d": "2.1"}, 3),
    ("ceil(d)", {"d": "-2.5"}, -2),
    ("floor(a)", {"a": 4}, 4),
    ("len(s)", {"s": "张三丰"}, 3),
    ("len(s)", {"s": ""}, 0),
    ("len(tags)", {"tags": []}, 0),
    ("len(tags)", {"tags": ["a", "b"]}, 2),
    ("days_between(day, day2)", {"day": "2024-02-28", "day2": "2024-03-01"}, 2),  # leap year
    ("days_between(day, day2)", {"day": "2026-03-01", "day2": "2026-02-28"}, -1),
    ("days_between(day, day2)", {"day": "2026-03-01"}, None),
])
def test_functions(tmp_path, expression, fields, expected):
    value = feature_value(tmp_path, expression, **fields)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("value, digits, expected", [
    ("2.5", None, 3),       # HALF_UP, not banker's rounding
    ("3.5", None, 4),
    ("-2.5", None, -3),     # half away from zero
    ("2.4999", None, 2),
    ("0.5", None, 1),
    ("1.25", 1, D("1.3")),  # HALF_EVEN would give 1.2
    ("1.35", 1, D("1.4")),
    ("1.2345", 2, D("1.23")),
    ("0.005", 2, D("0.01")),
])
def test_round_half_up(tmp_path, value, digits, expected):
    expression = "round(d)" if digits is None else f"round(d, {digits})"
    result = feature_value(tmp_path, expression, d=value)
    assert result == expected
    assert str(result) == str(expected)


def test_round_to_negative_digits(tmp_path):
    assert feature_value(tmp_path, "round(a, -2)", a=1250) == 1300
    assert feature_value(tmp_path / "2", "round(a, -3)", a=1499) == 1000


@pytest.mark.parametrize("start, end, expected", [
    ("2026-01-15", "2026-02-15", 1),
    ("2026-01-15", "2026-02-14", 0),
    ("2026-01-15", "2026-01-15", 0),
    ("2025-12-31", "2026-01-01", 0),
    ("2025-12-01", "2026-01-01", 1),
    ("2024-02-29", "2025-02-28", 11),   # the day of month is not reached
    ("2024-02-29", "2025-03-01", 12),
    ("2026-01-31", "2026-02-28", 0),    # whole months: the 31st is never reached in February
    ("2026-01-31", "2026-03-31", 2),
    ("2020-06-10", "2026-06-10", 72),
    ("2026-03-15", "2026-01-20", -1),   # negative when end is earlier, whole months only
    ("2026-03-15", "2026-01-15", -2),
    ("2026-03-15", "2026-01-10", -2),
])
def test_months_between(tmp_path, start, end, expected):
    assert feature_value(tmp_path, "months_between(day, day2)", day=start, day2=end) == expected


def test_months_between_missing(tmp_path):
    assert feature_value(tmp_path, "months_between(day, day2)", day="2026-01-01") is None


@pytest.mark.parametrize("start, months, expected", [
    ("2026-01-31", 1, date("2026-02-28")),   # clipped to the month's end
    ("2024-01-31", 1, date("2024-02-29")),   # leap year
    ("2026-03-31", -1, date("2026-02-28")),
    ("2026-11-15", 2, date("2027-01-15")),
    ("2026-01-15", -13, date("2024-12-15")),
    ("2026-01-15", 0, date("2026-01-15")),
    ("9999-12-01", 1, None),                 # beyond the calendar: missing, not an error
    ("0001-01-01", -1, None),
])
def test_date_add_months(tmp_path, start, months, expected):
    assert feature_value(tmp_path, "date_add_months(day, a)", day=start, a=months) == expected


# A valid resident ID number: region 110105, born 1949-12-31, sequence 002 (female), check X.
VALID_ID = "11010519491231002X"


@pytest.mark.parametrize("expression, id_number, expected", [
    ("resident_id_valid(person.id_number)", VALID_ID, True),
    ("resident_id_valid(person.id_number)", VALID_ID.lower(), True),
    ("resident_id_valid(person.id_number)", "110105194912310021", False),   # check character
    ("resident_id_valid(person.id_number)", "11010519491331002X", False),   # month 13
    ("resident_id_valid(person.id_number)", "1101051949123100", False),     # too short
    ("resident_id_valid(person.id_number)", None, None),
    ("resident_id_birth_date(person.id_number)", VALID_ID, date("1949-12-31")),
    ("resident_id_birth_date(person.id_number)", "张三", None),
    ("resident_id_gender(person.id_number)", VALID_ID, "FEMALE"),
    ("resident_id_region(person.id_number)", VALID_ID, "110105"),
    ("resident_id_region(person.id_number)", "110105", None),
])
def test_resident_id_functions(tmp_path, expression, id_number, expected):
    person = {} if id_number is None else {"id_number": id_number}
    assert feature_value(tmp_path, expression, person=person) == expected


def test_resident_id_gender_is_an_enum(tmp_path):
    policy = rule_policy(tmp_path, 'gender == "FEMALE"',
                         features={"gender": "resident_id_gender(person.id_number)"})
    assert fires(policy, person={"id_number": VALID_ID})
    result = load(tmp_path / "typo", {"r": ruleset("r", [
        {"id": "HIT", "when": 'gender == "FEMAL"', "then": {"action": "DECLINE", "reason": "HIT"}},
        {"id": "OK", "when": "a > 1", "then": {"action": "DECLINE", "reason": "R1"}}])},
        features={"gender": "resident_id_gender(person.id_number)"},
        stages=[{"id": "r", "ruleset": "r"}])
    assert codes(result) == ["EXPR_ENUM_VALUE"]
    assert "did you mean 'FEMALE'" in errors(result)[0].message


@pytest.mark.parametrize("decision_date, expected", [
    ("1989-12-30", 39),   # the day before the 40th birthday
    ("1989-12-31", 40),   # on the birthday
    ("2026-11-28", 76),
])
def test_age_at_from_id_number(tmp_path, decision_date, expected):
    value = feature_value(tmp_path, "age_at(person.id_number, decision_date)",
                          decision_date=decision_date, person={"id_number": VALID_ID})
    assert value == expected


@pytest.mark.parametrize("born, on, expected", [
    ("2000-02-29", "2027-02-28", 26),   # a leap-day birthday is reached on 1 March
    ("2000-02-29", "2027-03-01", 27),
    ("2000-02-29", "2028-02-29", 28),
    ("2000-06-15", "2000-06-15", 0),
])
def test_age_at_from_birth_date(tmp_path, born, on, expected):
    assert feature_value(tmp_path, "age_at(day, day2)", day=born, day2=on) == expected


@pytest.mark.parametrize("person", [{}, {"id_number": "not an id"}, {"id_number": "张三"}])
def test_age_at_without_a_usable_id_is_missing(tmp_path, person):
    assert feature_value(tmp_path, "age_at(person.id_number, decision_date)", person=person) is None


# --- rejections ---------------------------------------------------------------------------------
def _load_condition(tmp_path, when: str, features=None):
    """Load a rule set holding a rule with condition `when` (next to a valid rule)."""
    return load(tmp_path, {"r": ruleset("r", [
        {"id": "BAD", "when": when, "then": {"action": "DECLINE", "reason": "R1"}},
        {"id": "OK", "when": "a > 1", "then": {"action": "DECLINE", "reason": "R2"}},
    ])}, features=features, stages=[{"id": "r", "ruleset": "r"}])


@pytest.mark.parametrize("when, code, fragment", [
    ("_a > 1", "EXPR_UNDERSCORE", "'_'"),
    ("a.__class__ == 1", "EXPR_UNDERSCORE", "'_'"),
    ("__import__(\"os\") == 1", "EXPR_UNDERSCORE", "'_'"),
    ("import os", "EXPR_SYNTAX", "imports are not allowed"),
    ("(lambda: 1)() == 1", "EXPR_NOT_ALLOWED", "lambda"),
    ("len([t for t in tags]) > 0", "EXPR_NOT_ALLOWED", "comprehensions"),
    ("any(t == \"a\" for t in tags)", "EXPR_UNKNOWN_FUNCTION", "any"),
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
    ("a == None", "EXPR_NONE", "missing(x)"),
    ("a = 1", "EXPR_SYNTAX", "use =="),
    ("a > > 1", "EXPR_SYNTAX", "invalid expression"),
    ("a in [b, 1]", "EXPR_LIST_ITEM", "constants"),
    ("a in [1, \"x\"]", "EXPR_LIST_TYPES", "one type"),
    ("a in s", "EXPR_TYPE", "'in' needs a list"),
    ("s in nums", "EXPR_TYPE", "looks for string"),
    ("[1, 2] == nums", "EXPR_LIST", "only follow 'in'"),
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
    result = _load_condition(tmp_path, "a + b > 5")
    assert result.ok
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
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


# --- the missing-data rule ----------------------------------------------------------------------
ATOMS = ["a > 5", "a >= 5", "a < 5", "a <= 5", "a == 5", "a != 5", "d > 0.5", "e == \"RED\"",
         "e != \"RED\"", "s == \"x\"", "s != \"x\"", "flag == true", "flag == false",
         "flag != true", "flag", "day < decision_date", "day != decision_date",
         "a < b", "a != b", "5 < a"]


@pytest.mark.parametrize("atom", ATOMS)
def test_an_atom_on_missing_data_is_false(tmp_path, atom):
    policy = rule_policy(tmp_path, atom)
    assert fires(policy) is False
    assert fires(policy, a=None, b=None, d=None, e=None, s=None, flag=None, day=None) is False


@pytest.mark.parametrize("atom", ATOMS)
def test_a_negated_atom_on_missing_data_is_also_false(tmp_path, atom):
    policy = rule_policy(tmp_path, f"not ({atom})")
    assert fires(policy) is False


@pytest.mark.parametrize("atom, present", [
    ("a > 5", {"a": 1}), ("e == \"RED\"", {"e": "BLUE"}), ("flag", {"flag": False}),
    ("a < b", {"a": 2, "b": 1}),
])
def test_a_negated_atom_on_present_data_fires(tmp_path, atom, present):
    assert fires(rule_policy(tmp_path, f"not ({atom})"), **present) is True


def test_both_sides_of_a_comparison_may_be_missing(tmp_path):
    policy = rule_policy(tmp_path, "a != b")
    assert fires(policy, a=1) is False
    assert fires(policy, b=1) is False
    assert fires(policy, a=1, b=2) is True


@pytest.mark.parametrize("when, fields, expected", [
    ("exists(a)", {}, False),
    ("exists(a)", {"a": 0}, True),
    ("missing(a)", {}, True),
    ("missing(a)", {"a": None}, True),
    ("missing(a)", {"a": 0}, False),
    ("not exists(a)", {}, True),
    ("not missing(a)", {"a": 0}, True),
    ("not missing(a)", {}, False),
    ("exists(a) and a > 5", {"a": 6}, True),
    ("missing(a) or a > 5", {}, True),
    ("missing(a) or a > 5", {"a": 1}, False),
    ("exists(tags)", {"tags": []}, True),
])
def test_exists_and_missing(tmp_path, when, fields, expected):
    assert fires(rule_policy(tmp_path, when), **fields) is expected


def test_boolean_feature_from_missing_data_is_missing(tmp_path):
    policy = make_policy(
        tmp_path, {"r": ruleset("r", [
            {"id": "POS", "when": "big", "then": {"action": "DECLINE", "reason": "R1"}},
            {"id": "NEG", "when": "not big", "then": {"action": "REFER", "reason": "R2"}},
            {"id": "EQF", "when": "big == false", "then": {"action": "REFER", "reason": "R3"}},
            {"id": "MIS", "when": "missing(big)", "then": {"action": "REFER", "reason": "R4"}},
        ])}, features={"big": "a > 5"}, stages=[{"id": "r", "ruleset": "r"}])
    assert run(policy, a=6).trace.matched() == {"POS": True, "NEG": False, "EQF": False,
                                                "MIS": False}
    assert run(policy, a=1).trace.matched() == {"POS": False, "NEG": True, "EQF": True,
                                                "MIS": False}
    missing = run(policy)
    assert missing.trace.values["big"] is None
    assert missing.trace.matched() == {"POS": False, "NEG": False, "EQF": False, "MIS": True}
    assert missing.trace.to_dict()["features"]["big"] is None


def test_boolean_feature_computed_with_three_valued_logic(tmp_path):
    policy = make_policy(
        tmp_path, {"r": ruleset("r", [
            {"id": "POS", "when": "risky", "then": {"action": "DECLINE", "reason": "R1"}},
            {"id": "NEG", "when": "not risky", "then": {"action": "REFER", "reason": "R2"}},
        ])}, features={"risky": "a > 5 or b > 5"}, stages=[{"id": "r", "ruleset": "r"}])
    assert run(policy, b=6).trace.matched() == {"POS": True, "NEG": False}
    assert run(policy, b=1).trace.matched() == {"POS": False, "NEG": False}
    assert run(policy, a=1, b=1).trace.matched() == {"POS": False, "NEG": True}


def test_computed_condition_negated_on_missing_data_is_false(tmp_path):
    result = _load_condition(tmp_path, "not (a + b > 5)")
    policy = result.policies["p.x"]
    assert run(policy, a=6).trace.matched()["BAD"] is False
    assert run(policy, a=1, b=1).trace.matched()["BAD"] is True


def test_null_is_the_same_as_absent(tmp_path):
    policy = rule_policy(tmp_path, "not (e == \"RED\") and not (a > 5)")
    assert fires(policy, e=None, a=None) is False
    assert fires(policy, e="BLUE", a=1) is True


# --- decimals do not depend on the caller ---------------------------------------------------------
def test_decimal_arithmetic_ignores_the_callers_decimal_precision(tmp_path):
    import decimal
    policy = feature_policy(tmp_path, {"f": "d * 3", "g": "d + d2", "h": "d - d2"})
    expected = run(policy, d="1.2345", d2="0.0001").trace.values
    with decimal.localcontext() as context:
        context.prec = 3
        values = run(policy, d="1.2345", d2="0.0001").trace.values
    assert (values["f"], values["g"], values["h"]) == (expected["f"], expected["g"],
                                                       expected["h"]) == \
        (D("3.7035"), D("1.2346"), D("1.2344"))


def test_decimal_arithmetic_ignores_the_callers_decimal_traps(tmp_path):
    import decimal
    policy = feature_policy(tmp_path, {"f": "d + d2"})
    with decimal.localcontext() as context:
        context.traps[decimal.Inexact] = True
        # 36 significant digits: more than the engine's 28, so the sum is rounded (inexact).
        value = run(policy, d="123456789012345678",
                    d2="0.123456789012345678").trace.values["f"]
    assert value is not None


@pytest.mark.parametrize("digits", [30, 1000000])
def test_round_with_many_digits_does_not_raise(tmp_path, digits):
    value = feature_value(tmp_path, "round(d, a)", d="1.5", a=digits)
    assert value == D("1.5")


@pytest.mark.parametrize("value, expected", [("250", 250), ("1E+3", 1000)])
def test_round_without_digits_always_gives_an_integer(tmp_path, value, expected):
    _round_gives_an_integer(tmp_path, value, expected)


@pytest.mark.parametrize("value, expected", [("250.0", 250), ("2.5", 3), ("-0.5", -1)])
def test_round_of_a_fraction_gives_an_integer(tmp_path, value, expected):
    _round_gives_an_integer(tmp_path, value, expected)


def _round_gives_an_integer(tmp_path, value, expected):
    # round(x) is typed integer; round(x, digits) is typed decimal whatever the digits, since
    # digits may be any expression: round(d, 0) is a decimal with no fraction.
    policy = feature_policy(tmp_path, {"f": "round(d)", "g": "round(d, 0)"})
    decision = run(policy, d=value)
    assert type(decision.trace.values["f"]) is int
    assert decision.trace.values["f"] == expected
    assert isinstance(decision.trace.values["g"], D)
    assert decision.trace.values["g"] == expected
    assert decision.trace.to_dict()["features"]["f"] == expected


@pytest.mark.parametrize("when", ["not " * 500 + "flag", "a" + " + a" * 3000 + " > 1"])
def test_deeply_nested_expression_is_reported_not_a_crash(tmp_path, when):
    result = _load_condition(tmp_path, when)
    assert result.ok or [d.location.file for d in errors(result)] == ["rules/r.yaml"]


def test_deep_parentheses_are_fine_up_to_the_parser_limit(tmp_path):
    result = _load_condition(tmp_path, "(" * 150 + "a" + ")" * 150 + " > 1")
    assert result.ok
    result = _load_condition(tmp_path / "deeper", "(" * 300 + "a" + ")" * 300 + " > 1")
    assert codes(result) == ["EXPR_SYNTAX"]
