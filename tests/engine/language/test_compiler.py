"""Values computed by generated code: arithmetic, comparisons and logic, membership,
if/else, and decimal arithmetic that does not depend on the caller."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.support import (D, feature_policy, feature_value, fires, make_policy, rule_policy,
                            ruleset, run)


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
