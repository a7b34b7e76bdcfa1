"""A field's `pattern` reads \\d, \\w and \\s as ASCII, as the published JSON Schema does.

Python's re reads \\d as any Unicode digit: a policy that wrote `pattern: "^\\d{6}$"` for a region
code took "٣٣٠١٠٠" (Arabic-Indic) and "３３０１００" (full-width), which passed the schema and then
matched no region, prefix or list entry (docs/rules.md). The OpenAPI document publishes the same
pattern, where \\d (ECMA-262) is 0-9 only: a channel that checked its request against the schema
was told one thing and the service did another. Patterns are compiled with re.ASCII now, in
marshmallow's validator and in the fast path alike."""
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.errors import InputError
from app.engine.fastinput import fast_parser
from app.engine.schema import full_match_pattern
from app.engine.validation import parse_input
from engine.support import DECISION_DATE, make_policy

INPUT = {"decision_date": {"type": "date", "required": True},
         "region": {"type": "string", "pattern": "^\\d{6}$"},
         "code": {"type": "string", "pattern": "^\\w{2,8}$"},
         "note": {"type": "string", "pattern": "^\\S+$", "max_length": 40}}

NOT_ASCII = [("region", "٣٣٠١٠٠"), ("region", "３３０１００"), ("region", "33010٠"), ("region", "۳۳۰۱۰۰"),
             ("code", "ab١"), ("code", "ＡＢＣ"), ("code", "张三"), ("note", "a\u3000b"), ("note", "a\u00a0b")]


@pytest.fixture
def policy(tmp_path):
    return make_policy(tmp_path, input=INPUT)


@pytest.mark.parametrize("name, value", NOT_ASCII)
def test_a_character_class_matches_ascii_only(policy, name, value):
    raw = {"decision_date": DECISION_DATE, name: value}
    assert fast_parser(policy.input_schema)(raw) is None
    with pytest.raises(InputError) as refused:
        parse_input(raw, policy.request_schema())
    assert list(refused.value.errors) == [name]
    with pytest.raises(InputError):
        policy.parse_input(raw)


def test_ascii_values_still_match(policy):
    raw = {"decision_date": DECISION_DATE, "region": "330100", "code": "ab_12", "note": "x-y"}
    typed = policy.parse_input(raw)
    assert (typed["region"], typed["code"], typed["note"]) == ("330100", "ab_12", "x-y")
    assert fast_parser(policy.input_schema)(raw) == parse_input(raw, policy.request_schema())


@given(text=st.text(min_size=1, max_size=8))
def test_a_digit_class_is_the_ten_ascii_digits(text):
    matches = re.match(full_match_pattern("^\\d+$"), text) is not None
    assert matches == all(c in "0123456789" for c in text)
    in_class = re.match(full_match_pattern("^[\\d.]+$"), text) is not None
    assert in_class == all(c in "0123456789." for c in text)


@given(pattern=st.text(st.sampled_from("ab[]^-.*+?(){}$|0"), max_size=10))
def test_a_pattern_without_those_escapes_is_used_as_written(pattern):
    assert full_match_pattern(pattern) == f"(?:{pattern})\\Z"
