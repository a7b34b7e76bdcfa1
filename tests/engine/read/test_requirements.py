"""Data requirements (`requires:`): reading them with located errors, and what they do to a
decision, its reasons, its trace and its hits, on both backends."""
from __future__ import annotations

import pytest

from app.engine import canonical_json
from engine.support import act, codes, errors, load, make_policy, ruleset, run, sets

CHECK = ruleset("r", [
    {"id": "KO", "when": "flag == true", "then": act("DECLINE", "R1")},
    {"id": "SOFT", "when": "a > 100", "then": act("REFER", "R2")},
])
GROUP = ruleset("g", [{"id": "G-RED", "when": 'e == "RED"', "then": sets(group="RED")},
                      {"id": "G-OTHER", "when": 'e != "RED"', "then": sets(group="OTHER")}],
                hit_policy="first", outputs={"group": {"type": "enum", "values": ["RED", "OTHER"]}})
REQUIRES = [
    {"id": "RQ-FLAG", "name": {"zh": "标志", "en": "Flag"}, "fields": ["flag", "flag2"],
     "else": {"action": "REFER", "reason": "R3"}},
    {"id": "RQ-RED", "when": 'group == "RED"', "fields": ["d", "twice"],
     "else": {"action": "REFER", "reason": "R4"}},
    {"id": "RQ-HARD", "fields": ["s"], "else": {"action": "DECLINE", "reason": "R5"}},
]


@pytest.fixture(scope="module")
def required(tmp_path_factory):
    return make_policy(tmp_path_factory.mktemp("required"), {"r": CHECK, "g": GROUP},
                       stages=[{"id": "r", "ruleset": "r"}, {"id": "g", "ruleset": "g"}],
                       features={"twice": "b * 2"}, extra={"requires": REQUIRES})


FULL = {"flag": False, "flag2": True, "s": "x", "d": "1.5", "b": 2, "e": "RED"}


def test_every_requirement_met_approves(required):
    decision = run(required, FULL)
    assert decision.outcome == "APPROVE" and decision.reasons == []
    assert decision.trace.unmet() == []
    assert [r["met"] for r in decision.trace.to_dict()["requirements"]] == [True, True, True]


def test_a_missing_field_refers_with_the_requirements_reason(required):
    decision = run(required, {**FULL, "flag2": None})
    assert decision.outcome == "REFER" and decision.reason_codes == ["R3"]
    reason = decision.reasons[0]
    assert (reason.action, reason.stage, reason.rule) == ("REFER", "requires", "RQ-FLAG")
    assert decision.hits == ["RQ-FLAG", "G-RED"] and decision.trace.matched()["RQ-FLAG"] is True


def test_a_requirement_can_decline_and_reasons_rank_before_the_stages(required):
    decision = run(required, {**FULL, "s": None, "flag": None, "a": 500})
    # DECLINE first; then REFERs: the requirements before the stages, each in order
    assert decision.outcome == "DECLINE"
    assert decision.reason_codes == ["R5", "R3", "R2"]
    assert [r.stage for r in decision.reasons] == ["requires", "requires", "r"]
    assert decision.hits == ["RQ-FLAG", "RQ-HARD", "SOFT", "G-RED"]


def test_a_requirement_applies_only_where_its_condition_holds(required):
    other = run(required, {**FULL, "e": "BLUE", "d": None, "b": None})
    assert other.outcome == "APPROVE"
    red = run(required, {**FULL, "d": None})
    assert red.reason_codes == ["R4"] and red.hits == ["RQ-RED", "G-RED"]
    # a feature that cannot be computed counts as missing data
    no_b = run(required, {**FULL, "b": None})
    assert no_b.reason_codes == ["R4"]


def test_the_trace_lists_every_requirement_with_what_it_read(required):
    trace = run(required, {**FULL, "e": "BLUE", "flag2": None}).trace.to_dict()
    assert trace["requirements"] == [
        {"id": "RQ-FLAG", "applies": True, "met": False, "missing": ["flag2"],
         "read": {"flag": False, "flag2": None}},
        {"id": "RQ-RED", "applies": False, "met": None, "missing": [],
         "read": {"d": "1.5", "twice": 4, "group": "OTHER"}},
        {"id": "RQ-HARD", "applies": True, "met": True, "missing": [], "read": {"s": "x"}},
    ]


def test_a_knock_out_rule_still_declines_when_its_data_is_there(required):
    decision = run(required, {**FULL, "flag": True})
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["R1"]


def test_both_backends_give_the_same_decision_and_trace(required):
    for raw in (FULL, {**FULL, "flag2": None}, {**FULL, "d": None, "s": None}, {"e": "RED"}):
        typed = required.parse_input({"decision_date": "2026-11-28", **raw})
        compiled = required.decide(typed, backend="compiled")
        durable = required.decide(typed, backend="durable")
        assert compiled.headline() == durable.headline()
        left, right = compiled.trace.to_dict(), durable.trace.to_dict()
        left.pop("engine"), right.pop("engine")
        assert canonical_json(left) == canonical_json(right)


# --- reading: every mistake located, with the fix ------------------------------------------------
@pytest.mark.parametrize("requirement, code, words", [
    ({"id": "RQ", "fields": ["flga"], "else": act("REFER", "R1")}, "REQUIRES_FIELD",
     "did you mean 'flag'"),
    ({"id": "RQ", "fields": ["person"], "else": act("REFER", "R1")}, "REQUIRES_FIELD",
     "it is a section"),
    ({"id": "RQ", "fields": [], "else": act("REFER", "R1")}, "REQUIRES_FIELDS", "non-empty"),
    ({"id": "RQ", "fields": ["a"]}, "REQUIRES_ELSE", "needs 'else'"),
    ({"id": "RQ", "fields": ["a"], "else": act("APPROVE", "R1")}, "EFFECT_ACTION", "DECLINE or REFER"),
    ({"id": "RQ", "fields": ["a"], "else": {"action": "REFER", "reason": "NOPE"}},
     "REASON_UNKNOWN", "NOPE"),
    ({"id": "RQ", "fields": ["a"], "when": "a +", "else": act("REFER", "R1")}, "EXPR_SYNTAX", ""),
    ({"id": "RQ", "fields": ["a"], "els": act("REFER", "R1")}, "UNKNOWN_KEY", "did you mean 'else'"),
    ({"fields": ["a"], "else": act("REFER", "R1")}, "ID_INVALID", ""),
])
def test_requirement_mistakes_are_located(tmp_path, requirement, code, words):
    result = load(tmp_path, extra={"requires": [requirement]})
    assert not result.ok
    found = [d for d in errors(result) if d.code == code]
    assert found, codes(result)
    assert words in found[0].message
    assert found[0].location.file == "policies/p/x.yaml" and found[0].location.line > 0


def test_requires_must_be_a_list(tmp_path):
    result = load(tmp_path, extra={"requires": {"fields": ["a"]}})
    assert codes(result) == ["REQUIRES_SHAPE"]


def test_a_requirement_id_is_unique_in_the_policy(tmp_path):
    result = load(tmp_path, extra={"requires": [
        {"id": "NOOP-1", "fields": ["a"], "else": act("REFER", "R1")}]})
    assert "ID_DUPLICATE" in codes(result)
