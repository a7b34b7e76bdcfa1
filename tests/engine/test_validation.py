"""Validating and typing a channel's JSON input against the policy's declaration."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.engine import InputError, canonical_json, load_policy_root
from engine.read.samples import POLICY, base_files, write
from engine.support import make_policy


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


def test_a_pattern_never_runs_on_a_value_longer_than_max_length(tmp_path):
    """The loader bounds a pattern's work by the field's max_length (app/engine/patterns.py), so
    the pattern must not run past it: marshmallow runs every validator, and a 60 KB value is
    within a request's body limit. Seen by what is reported: the length, not the pattern."""
    files = base_files()
    files["policies/p/x.yaml"] = POLICY.replace(
        "  s: string\n", '  s: string\n  code: {type: string, max_length: 8, pattern: "^[A-Z]+-[0-9]+$"}\n')
    policy = load_policy_root(write(tmp_path, files)).policies["p.x"]
    assert policy.parse_input({"decision_date": "2026-11-28", "code": "AB-12"})["code"] == "AB-12"
    with pytest.raises(InputError) as error:
        policy.parse_input({"decision_date": "2026-11-28", "code": "a" * 60_000})
    assert error.value.errors["code"] == ["Longer than maximum length 8."]
    with pytest.raises(InputError) as error:
        policy.parse_input({"decision_date": "2026-11-28", "code": "ab-12"})
    assert error.value.errors["code"] == ["must match ^[A-Z]+-[0-9]+$"]


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
