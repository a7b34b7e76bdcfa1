"""Diagnostics that teach a credit policy author: a text written without quotes, one mistake
reported once, grammar, and a durable policy's problems all at once, each once."""
from __future__ import annotations

from engine.support import act, load, load_condition, ruleset, sets


def test_an_unquoted_enum_value_suggests_the_text(tmp_path):
    result = load_condition(tmp_path, "e != green")
    found = [d for d in result.diagnostics if d.code == "EXPR_UNKNOWN_NAME"]
    assert len(found) == 1
    assert "unknown name 'green': did you mean the text \"GREEN\"?" in found[0].message


def test_an_unknown_name_that_is_no_enum_value_keeps_the_plain_suggestion(tmp_path):
    result = load_condition(tmp_path, "aa > 1")
    (found,) = [d for d in result.diagnostics if d.code == "EXPR_UNKNOWN_NAME"]
    assert "did you mean the text" not in found.message and "did you mean" in found.message


def test_an_enum_typo_in_set_is_one_error_with_an_article(tmp_path):
    kind = {"type": "enum", "values": ["LOW", "HIGH"]}
    rules = {"r": ruleset("r", [{"id": "S1", "when": "a > 5", "then": sets(level="HIHG")},
                                {"id": "S2", "when": "true", "then": sets(level="LOW")}],
                          hit_policy="first", outputs={"level": kind})}
    result = load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], outputs=["level"])
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.code for d in errors] == ["SET_VALUE"]
    assert "'HIHG' is not an enum [LOW, HIGH]" in errors[0].message
    assert "did you mean 'HIGH'" in errors[0].message


def test_durable_problems_come_with_the_other_errors_each_once(tmp_path):
    rules = {"r": ruleset("r", [
        {"id": "COMPUTES", "when": "a + b > 5", "then": act("DECLINE", "R1")},
        {"id": "TYPO", "when": "bogus > 1", "then": act("DECLINE", "R2")},
    ])}
    result = load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}],
                  extra={"engine": "durable"})
    codes = [d.code for d in result.diagnostics if d.code not in ("INPUT_UNUSED", "FAILS_OPEN")]
    # the unknown name and the condition durable cannot match, in one run; the computation is
    # reported once, as the durable error, not also as the CONDITION_COMPUTES warning
    assert sorted(codes) == ["DURABLE_UNSUPPORTED", "EXPR_UNKNOWN_NAME"]
    (durable,) = [d for d in result.diagnostics if d.code == "DURABLE_UNSUPPORTED"]
    assert durable.message.startswith("rule COMPUTES:") and durable.severity == "error"


def test_on_the_compiled_engine_a_computation_stays_a_warning(tmp_path):
    rules = {"r": ruleset("r", [{"id": "COMPUTES", "when": "a + b > 5", "then": act("DECLINE", "R1")}])}
    result = load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}])
    assert result.ok
    assert "CONDITION_COMPUTES" in [d.code for d in result.diagnostics]
