"""Rule sets decide by their hit policy: first, priority, unique, collect, any; stages and the
outcome."""
from __future__ import annotations

import pytest

from engine.support import LEVEL, act, make_policy, ruleset, run, sets


def policy_with(tmp_path, *stages: tuple[str, str], outputs=None):
    """A policy whose stages are the given (name, rule-set text) pairs, in order."""
    return make_policy(tmp_path, dict(stages), stages=[{"id": n, "ruleset": n} for n, _ in stages],
                       outputs=outputs)


def stage_trace(decision, stage_id: str) -> dict:
    return next(s for s in decision.trace.to_dict()["stages"] if s["id"] == stage_id)


# --- first --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def first(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("first")
    return policy_with(tmp_path, ("grade", ruleset("grade", [
        {"id": "F-1", "when": "a > 10", "then": act("REFER", "R1", level="HIGH")},
        {"id": "F-2", "when": "a > 5", "then": act("REFER", "R2", level="MID")},
        {"id": "F-3", "when": "a > 0", "then": sets(level="LOW")},
    ], hit_policy="first", outputs=LEVEL, when_none={"action": "REFER", "reason": "NONE"})),
        outputs=["level"])


@pytest.mark.parametrize("a, selected, level, reasons", [
    (11, ["F-1"], "HIGH", ["R1"]),
    (6, ["F-2"], "MID", ["R2"]),
    (1, ["F-3"], "LOW", []),
    (0, [], None, ["NONE"]),
    (None, [], None, ["NONE"]),
])
def test_first_uses_the_first_match_in_file_order(first, a, selected, level, reasons):
    decision = run(first, a=a)
    trace = stage_trace(decision, "grade")
    assert trace["selected"] == selected
    assert decision.outputs == {"level": level}
    assert trace["outputs"] == {"level": level}
    assert decision.reason_codes == reasons
    assert decision.outcome == ("REFER" if reasons else "APPROVE")
    # every rule is evaluated and reported, matched or not
    assert [r["id"] for r in trace["rules"]] == ["F-1", "F-2", "F-3"]
    assert [r["matched"] for r in trace["rules"]] == [
        a is not None and a > 10, a is not None and a > 5, a is not None and a > 0]


# --- priority -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def priority(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("priority")
    return policy_with(tmp_path, ("grade", ruleset("grade", [
        {"id": "P-1", "priority": 10, "when": "a > 0", "then": sets(level="LOW")},
        {"id": "P-2", "priority": 50, "when": "a > 5", "then": act("REFER", "R2", level="MID")},
        {"id": "P-3", "priority": 50, "when": "a > 6", "then": act("REFER", "R3", level="HIGH")},
        {"id": "P-4", "priority": 90, "when": "e == \"RED\"", "then": sets(level="HIGH")},
    ], hit_policy="priority", outputs=LEVEL, when_none={"action": "REFER", "reason": "NONE"})),
        outputs=["level"])


@pytest.mark.parametrize("fields, selected, level, reasons", [
    ({"a": 3}, ["P-1"], "LOW", []),
    ({"a": 6}, ["P-2"], "MID", ["R2"]),
    ({"a": 7}, ["P-2"], "MID", ["R2"]),          # a tie on priority: file order wins
    ({"a": 7, "e": "RED"}, ["P-4"], "HIGH", []),  # the highest priority wins
    ({"e": "RED"}, ["P-4"], "HIGH", []),
    ({}, [], None, ["NONE"]),
])
def test_priority_uses_the_highest_priority_match(priority, fields, selected, level, reasons):
    decision = run(priority, **fields)
    assert stage_trace(decision, "grade")["selected"] == selected
    assert decision.outputs == {"level": level}
    assert decision.reason_codes == reasons


# --- unique -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def unique(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("unique")
    return policy_with(tmp_path, ("status", ruleset("status", [
        {"id": "U-1", "when": "a > 5", "then": sets(level="HIGH")},
        {"id": "U-2", "when": "e == \"RED\"", "then": sets(level="MID")},
        {"id": "U-3", "when": "a <= 5", "then": act("REFER", "R3", level="LOW")},
    ], hit_policy="unique", outputs=LEVEL, when_none={"action": "REFER", "reason": "NONE"})),
        outputs=["level"])


def test_unique_single_match(unique):
    decision = run(unique, a=6)
    assert decision.outcome == "APPROVE" and decision.outputs == {"level": "HIGH"}
    trace = stage_trace(decision, "status")
    assert trace["selected"] == ["U-1"] and trace["conflict"] is None
    decision = run(unique, a=1)
    assert decision.outcome == "REFER" and decision.reason_codes == ["R3"]
    assert decision.outputs == {"level": "LOW"}


def test_unique_double_match_is_a_reported_conflict(unique):
    decision = run(unique, a=6, e="RED")
    assert decision.outcome == "REFER"
    assert decision.reason_codes == ["RULESET_CONFLICT"]
    [reason] = decision.reasons
    assert (reason.action, reason.stage, reason.rule) == ("REFER", "status", None)
    assert reason.zh and reason.en  # the engine's own text
    trace = stage_trace(decision, "status")
    assert trace["conflict"] == ["U-1", "U-2"]
    assert trace["selected"] == []
    assert decision.outputs == {"level": None}  # no output is chosen from conflicting rules
    assert decision.hits == ["U-1", "U-2"]


def test_unique_triple_match_names_every_conflicting_rule(tmp_path):
    policy = policy_with(tmp_path, ("s", ruleset("s", [
        {"id": "X-1", "when": "a > 1", "then": act("DECLINE", "R1")},
        {"id": "X-2", "when": "a > 2", "then": act("DECLINE", "R2")},
        {"id": "X-3", "when": "a > 3", "then": act("DECLINE", "R3")},
        {"id": "X-4", "when": "a > 100", "then": act("DECLINE", "R4")},
    ], hit_policy="unique")))
    decision = run(policy, a=50)
    assert stage_trace(decision, "s")["conflict"] == ["X-1", "X-2", "X-3"]
    # the conflicting rules' own actions are not applied: the decision is referred
    assert decision.outcome == "REFER" and decision.reason_codes == ["RULESET_CONFLICT"]


def test_unique_no_match_uses_when_none(unique):
    decision = run(unique, e="BLUE")
    assert decision.reason_codes == ["NONE"] and decision.outcome == "REFER"
    assert stage_trace(decision, "status")["conflict"] is None


# --- collect ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def collect(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("collect")
    return policy_with(tmp_path, ("checks", ruleset("checks", [
        {"id": "C-1", "when": "a > 5", "then": act("REFER", "R1")},
        {"id": "C-2", "when": "b > 5", "then": act("DECLINE", ["R2", "R4"])},
        {"id": "C-3", "when": "e == \"RED\"", "then": act("REFER", "R3")},
        {"id": "C-4", "when": "a > 9", "then": act("DECLINE", "R5")},
    ])))


@pytest.mark.parametrize("fields, outcome, reasons", [
    ({}, "APPROVE", []),
    ({"a": 6}, "REFER", ["R1"]),
    ({"a": 6, "e": "RED"}, "REFER", ["R1", "R3"]),
    ({"e": "RED", "b": 6}, "DECLINE", ["R2", "R4", "R3"]),       # DECLINE before REFER
    ({"a": 10, "b": 6, "e": "RED"}, "DECLINE", ["R2", "R4", "R5", "R1", "R3"]),
])
def test_collect_uses_every_match(collect, fields, outcome, reasons):
    decision = run(collect, **fields)
    assert decision.outcome == outcome
    assert decision.reason_codes == reasons
    assert stage_trace(decision, "checks")["selected"] == [
        r for r, hit in decision.trace.matched().items() if hit]


def test_reason_records_name_their_rule_stage_and_action(collect):
    decision = run(collect, a=10, b=6)
    assert [(r.code, r.action, r.stage, r.rule) for r in decision.reasons] == [
        ("R2", "DECLINE", "checks", "C-2"), ("R4", "DECLINE", "checks", "C-2"),
        ("R5", "DECLINE", "checks", "C-4"), ("R1", "REFER", "checks", "C-1")]
    assert decision.reasons[0].zh == "原因R2" and decision.reasons[0].en == "Reason R2"
    assert decision.to_dict()["reasons"][0] == {"code": "R2", "zh": "原因R2", "en": "Reason R2",
                                                "action": "DECLINE", "stage": "checks",
                                                "rule": "C-2",
                                                "customer": {"zh": "客户原因R2",
                                                             "en": "Customer reason R2"}}


def test_a_reason_given_twice_is_reported_once(tmp_path):
    policy = policy_with(tmp_path, ("checks", ruleset("checks", [
        {"id": "C-1", "when": "a > 1", "then": act("REFER", "R1")},
        {"id": "C-2", "when": "a > 2", "then": act("DECLINE", "R1")},
        {"id": "C-3", "when": "a > 3", "then": act("REFER", "R1")},
    ])))
    decision = run(policy, a=5)
    assert [(r.code, r.action, r.rule) for r in decision.reasons] == [("R1", "DECLINE", "C-2")]


# --- any ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def anyp(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("anyp")
    return policy_with(tmp_path, ("verify", ruleset("verify", [
        {"id": "A-1", "when": "flag == true", "then": sets(verified=True)},
        {"id": "A-2", "when": "a >= 6", "then": sets(verified=True)},
        {"id": "A-3", "when": "e == \"RED\"", "then": sets(verified=False)},
        {"id": "A-4", "when": "b > 5", "then": act("REFER", "R1")},
        {"id": "A-5", "when": "b > 6", "then": act("REFER", "R1")},
        {"id": "A-6", "when": "b > 7", "then": act("REFER", "R2")},
    ], hit_policy="any", outputs={"verified": {"type": "boolean"}})), outputs=["verified"])


def test_any_with_agreeing_matches(anyp):
    decision = run(anyp, flag=True, a=6)
    trace = stage_trace(decision, "verify")
    assert trace["selected"] == ["A-1", "A-2"] and trace["conflict"] is None
    assert decision.outputs == {"verified": True}
    assert decision.outcome == "APPROVE"


def test_any_with_agreeing_actions(anyp):
    decision = run(anyp, b=7)
    assert stage_trace(decision, "verify")["conflict"] is None
    assert decision.outcome == "REFER" and decision.reason_codes == ["R1"]


@pytest.mark.parametrize("fields, conflict", [
    ({"flag": True, "e": "RED"}, ["A-1", "A-3"]),         # different outputs
    ({"b": 8}, ["A-4", "A-5", "A-6"]),                     # different reasons
    ({"a": 6, "b": 6}, ["A-2", "A-4"]),                    # an output against an action
])
def test_any_with_disagreeing_matches_is_a_conflict(anyp, fields, conflict):
    decision = run(anyp, **fields)
    trace = stage_trace(decision, "verify")
    assert trace["conflict"] == conflict
    assert decision.outcome == "REFER" and decision.reason_codes == ["RULESET_CONFLICT"]
    assert decision.outputs == {"verified": None}


def test_any_with_no_match_sets_nothing(anyp):
    decision = run(anyp)
    assert decision.outputs == {"verified": None} and decision.outcome == "APPROVE"


# --- stages and the outcome ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("staged")
    return policy_with(
        tmp_path,
        ("first_stage", ruleset("first_stage", [
            {"id": "S1-1", "when": "a > 5", "then": act("REFER", "R1")},
            {"id": "S1-2", "when": "b > 5", "then": act("DECLINE", "R2")},
        ])),
        ("grading", ruleset("grading", [
            {"id": "S2-1", "when": "c > 5", "then": sets(level="HIGH")},
            {"id": "S2-2", "when": "c <= 5", "then": sets(level="LOW")},
        ], hit_policy="first", outputs=LEVEL)),
        ("second_stage", ruleset("second_stage", [
            {"id": "S3-1", "when": "level == \"HIGH\"", "then": act("DECLINE", "R3")},
            {"id": "S3-2", "when": "a > 7", "then": act("REFER", "R4")},
            {"id": "S3-3", "when": "not (level == \"HIGH\")", "then": act("REFER", "R5")},
        ])), outputs=["level"])


@pytest.mark.parametrize("fields, outcome, reasons", [
    ({"c": 1}, "REFER", ["R5"]),
    ({"c": 6}, "DECLINE", ["R3"]),
    ({}, "APPROVE", []),                                   # level is missing: neither S3-1 nor S3-3
    ({"a": 8, "c": 1}, "REFER", ["R1", "R4", "R5"]),       # stage order, then rule order
    ({"a": 8, "c": 6}, "DECLINE", ["R3", "R1", "R4"]),     # DECLINE first, whatever its stage
    ({"a": 8, "b": 6, "c": 6}, "DECLINE", ["R2", "R3", "R1", "R4"]),
])
def test_outcome_and_reason_order(staged, fields, outcome, reasons):
    decision = run(staged, **fields)
    assert decision.outcome == outcome
    assert decision.reason_codes == reasons
    assert decision.to_dict()["outcome"] == outcome


def test_every_stage_runs_even_after_a_decline(staged):
    decision = run(staged, b=6, c=6, a=8)
    stages = decision.trace.to_dict()["stages"]
    assert [s["id"] for s in stages] == ["first_stage", "grading", "second_stage"]
    assert stage_trace(decision, "second_stage")["selected"] == ["S3-1", "S3-2"]
    assert decision.hits == ["S1-1", "S1-2", "S2-1", "S3-1", "S3-2"]


def test_when_none_is_not_used_when_something_matched(tmp_path):
    policy = policy_with(tmp_path, ("c", ruleset("c", [
        {"id": "N-1", "when": "a > 5", "then": sets(level="HIGH")},
    ], hit_policy="first", outputs=LEVEL, when_none={"action": "DECLINE", "reason": "NONE"})))
    assert run(policy, a=6).outcome == "APPROVE"
    decision = run(policy, a=5)
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["NONE"]
    assert decision.reasons[0].rule is None and decision.reasons[0].stage == "c"


def test_when_none_of_a_collect_rule_set(tmp_path):
    policy = policy_with(tmp_path, ("c", ruleset("c", [
        {"id": "N-1", "when": "a > 5", "then": act("REFER", "R1")},
    ], when_none={"action": "REFER", "reason": "NONE"})))
    assert run(policy, a=6).reason_codes == ["R1"]
    assert run(policy, a=1).reason_codes == ["NONE"]
