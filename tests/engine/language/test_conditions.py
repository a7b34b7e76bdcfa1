"""The condition form and the missing-data rule: an atom that reads a missing value is false,
negated or not; exists/missing; three-valued features."""
from __future__ import annotations

import pytest

from engine.support import fires, load_condition, make_policy, rule_policy, ruleset, run

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
    result = load_condition(tmp_path, "not (a + b > 5)")
    policy = result.policies["p.x"]
    assert run(policy, a=6).trace.matched()["BAD"] is False
    assert run(policy, a=1, b=1).trace.matched()["BAD"] is True


def test_null_is_the_same_as_absent(tmp_path):
    policy = rule_policy(tmp_path, "not (e == \"RED\") and not (a > 5)")
    assert fires(policy, e=None, a=None) is False
    assert fires(policy, e="BLUE", a=1) is True
