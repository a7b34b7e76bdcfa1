"""Reading a policy's `input:` declaration."""
from __future__ import annotations

import pytest

from engine.read.samples import POLICY, load_files, position
from engine.support import codes, errors


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


def test_personal_data_may_be_a_date_and_is_masked(tmp_path):
    """A birth date may be declared personal data (the controls' `pii: birth_date`, or any kind)."""
    policy = POLICY.replace("  a: integer", "  a: integer\n  born: {type: date, pii: name}\n"
                            "  n: {type: integer, pii: name}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert [d.message for d in errors(result)] == [
        "personal data field 'n' must be a string or a date"]


# A field's constraints (min, max, max_length, pattern) are checked when the policy loads: before,
# a wrong one loaded silently and then raised on every application that sent the field (a 500),
# or raised re.error / TypeError out of the loader (a traceback instead of file:line:column), or
# was never applied at all while a reviewer read it as a control.
def _with_field(declaration: str) -> str:
    return POLICY.replace("  s: string\n", f"  s: string\n  t: {declaration}\n")


def _located(result, code):
    found = [d for d in errors(result) if d.code == code]
    assert found, [str(d) for d in result.diagnostics]
    return found[0]


@pytest.mark.parametrize("declaration, token, words", [
    ("{type: string, pattern: 123}", "123", "text"),
    ("{type: string, pattern: ''}", "''", "text"),
    ("{type: integer, pattern: '^1$'}", "'^1$'", "string"),
    ("{type: integer, min: abc}", "abc", "number"),
    ("{type: decimal, max: 2026-01-01}", "2026-01-01", "number"),
    ("{type: date, min: 3}", "3", "date"),
    ("{type: integer, min: true}", "true", "number"),
    ("{type: string, min: 3}", "3", "integer, decimal or date"),
    ("{type: boolean, max: 3}", "3", "integer, decimal or date"),
    ("{type: string, required: 'false'}", "'false'", "true or false"),
    ("{type: string, max_length: abc}", "abc", "whole number"),
    ("{type: string, max_length: 0}", "0", "whole number"),
    ("{type: string, max_length: 1.5}", "1.5", "whole number"),
    ("{type: integer, max_length: 3}", "3", "string"),
    ("{type: list, items: string, pattern: 'a'}", "'a'", "string"),
    ("{type: list, items: {type: string, pattern: '^[a-z]{2}$'}}", "pattern", "items"),
    ("{type: list, items: {type: integer, min: 0}}", "min", "items"),
])
def test_a_wrong_constraint_is_a_located_error(tmp_path, declaration, token, words):
    policy = _with_field(declaration)
    diagnostic = _located(load_files(tmp_path, policies__p__x_yaml=policy), "INPUT_CONSTRAINT")
    assert words in diagnostic.message
    line, column = position(policy, token, policy.count(token) - 1)
    assert (diagnostic.location.line, diagnostic.location.column) == (line, column), str(diagnostic)


def test_min_above_max_is_an_error(tmp_path):
    result = load_files(tmp_path, policies__p__x_yaml=_with_field("{type: integer, min: 10, max: 1}"))
    assert "min 10 is above max 1" in _located(result, "INPUT_CONSTRAINT").message


@pytest.mark.parametrize("pattern", [
    "^(a+)+$",              # nested repetition: exponential in the text's length
    "^(a|aa)+$",            # repeated alternatives that overlap
    "^([a-z]{1,3})*$",      # a variable repetition inside another
    "^[0-9]*[0-9]*[0-9]*x$",  # three unbounded repetitions in a row: cubic
    "^(a)\\1$",             # a back reference
    "([a-z",                # not a pattern at all (re.error out of the loader before)
    "(?i)^[a-f]{3}$",       # valid alone, but not inside the (?:...)\\Z validation wraps it in
])
def test_a_pattern_that_can_take_too_long_is_refused(tmp_path, pattern):
    policy = _with_field("{type: string, max_length: 200, pattern: '%s'}" % pattern)
    diagnostic = _located(load_files(tmp_path, policies__p__x_yaml=policy), "INPUT_PATTERN")
    assert diagnostic.location.line == position(policy, pattern)[0]


def test_a_pattern_of_unbounded_length_needs_max_length(tmp_path):
    policy = _with_field("{type: string, pattern: '^[A-Z]+-[0-9]+$'}")
    diagnostic = _located(load_files(tmp_path, policies__p__x_yaml=policy), "INPUT_PATTERN")
    assert "max_length" in diagnostic.message
    bounded = _with_field("{type: string, max_length: 40, pattern: '^[A-Z]+-[0-9]+$'}")
    assert not errors(load_files(tmp_path, policies__p__x_yaml=bounded))


@pytest.mark.parametrize("pattern", [
    "^1[0-9]{10}$", "^[0-9]{12,19}$", "^[0-9A-Za-z-]{4,32}$", "^[N0-7CDGZB/*#]{24}$",
    "^(\\\\+86)?1[0-9]{10}$", "^([0-9]{3}-)?[0-9]{8}$", "^(?:RED|GREEN)-[0-9]{2}$", "(?i:^[a-f0-9]{32}$)",
])
def test_ordinary_patterns_still_load(tmp_path, pattern):
    policy = _with_field("{type: string, pattern: \"%s\"}" % pattern)
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert not errors(result), [str(d) for d in errors(result)]
