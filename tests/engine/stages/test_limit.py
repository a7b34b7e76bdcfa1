"""The limit: base, caps, rounding down, the minimum, and a missing base."""
from __future__ import annotations

import pytest

from engine.support import LIMIT, dump, make_policy, ruleset, run


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("limited")
    rules = {"dev": dump({"list": "dev", "type": "string", "values": ["110100", "310100"]}),
             "r": ruleset("r", [{"id": "NO", "when": "flag == true",
                                 "then": {"action": "DECLINE", "reason": "R1"}}])}
    return make_policy(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], limit=LIMIT,
                       parameters={"minimum_limit": 10000, "cap_dev": 500000, "cap_other": 300000},
                       features={"region_cap": "params.cap_dev if s in lists.dev else "
                                               "params.cap_other"})


@pytest.mark.parametrize("fields, limit, binding, before", [
    ({"a": 123456, "s": "110100"}, 123000, None, 123456),                 # rounds down
    ({"a": 123999, "s": "999999"}, 123000, None, 123999),
    ({"a": 600000, "s": "110100"}, 500000, "CAP-REGION", 500000),          # developed cap
    ({"a": 600000, "s": "999999"}, 300000, "CAP-REGION", 300000),          # other region cap
    ({"a": 200000, "b": 15555, "s": "110100"}, 155000, "CAP-INCOME", 155550),
    ({"a": 200000, "b": 20000, "s": "110100"}, 200000, None, 200000),      # a cap equal to base
    ({"a": 900000, "b": 40000, "s": "999999"}, 300000, "CAP-REGION", 300000),  # lowest cap binds
    ({"a": 10000, "s": "110100"}, 10000, None, 10000),                      # exactly the minimum
])
def test_limit_caps_and_rounding(limited, fields, limit, binding, before):
    decision = run(limited, **fields)
    assert decision.outcome == "APPROVE"
    assert decision.limit == limit
    trace = decision.trace.to_dict()["limit"]
    assert trace["binding_cap"] == binding
    assert trace["before_rounding"] == before
    assert trace["limit"] == limit and trace["round_down_to"] == 1000
    assert trace["minimum"] == 10000 and trace["base"] == fields["a"]
    assert [c["id"] for c in trace["caps"]] == ["CAP-INCOME", "CAP-REGION"]
    assert trace["caps"][0]["value"] == (fields["b"] * 10 if "b" in fields else None)


def test_limit_below_minimum_declines(limited):
    decision = run(limited, a=200000, b=999, s="110100")  # 9990 -> 9000 < 10000
    assert decision.outcome == "DECLINE" and decision.limit is None
    assert decision.reason_codes == ["BELOW_MIN"]
    assert (decision.reasons[0].stage, decision.reasons[0].rule) == ("limit", None)
    trace = decision.trace.to_dict()["limit"]
    assert (trace["limit"], trace["binding_cap"]) == (9000, "CAP-INCOME")


def test_limit_just_below_minimum_after_rounding(limited):
    decision = run(limited, a=10999, s="110100")
    assert decision.limit == 10000
    decision = run(limited, a=9999, s="110100")
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["BELOW_MIN"]


def test_missing_base_uses_when_missing(limited):
    decision = run(limited, s="110100")
    assert decision.outcome == "REFER" and decision.reason_codes == ["NO_LIMIT"]
    assert decision.limit is None
    trace = decision.trace.to_dict()["limit"]
    assert trace["base"] is None and trace["limit"] is None


def test_limit_is_reported_for_approve_only(limited):
    decision = run(limited, a=50000, s="110100", flag=True)
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["R1"]
    assert decision.limit is None and decision.to_dict()["limit"] is None
    assert decision.trace.to_dict()["limit"]["limit"] == 50000  # the computation is still shown


def test_limit_from_a_decimal_base_rounds_down(tmp_path):
    limit = dict(LIMIT, base="d * 1000", caps=[])
    policy = make_policy(tmp_path, limit=limit, parameters={"minimum_limit": 1000})
    decision = run(policy, d="12.9996")
    assert decision.limit == 12000
    assert decision.trace.to_dict()["limit"]["before_rounding"] == "12999.6000"


def test_limit_negative_cap_gives_zero_and_declines(tmp_path):
    limit = dict(LIMIT, caps=[{"id": "CAP-NEG", "value": "b - 5000"}])
    policy = make_policy(tmp_path, limit=limit, parameters={"minimum_limit": 1000})
    decision = run(policy, a=50000, b=100)
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["BELOW_MIN"]
    assert decision.trace.to_dict()["limit"]["limit"] == 0


def test_limit_with_a_huge_base_does_not_raise(tmp_path):
    """Regression: rounding raised decimal.InvalidOperation beyond 28 digits."""
    policy = make_policy(tmp_path, limit=dict(LIMIT, base="a * a * a", caps=[]),
                         parameters={"minimum_limit": 1000})
    decision = run(policy, a=10**13)
    assert decision.limit == 10**39


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    """Caps that apply only when a condition holds, and the limit kept as a value for outputs."""
    limit = dict(LIMIT, result="capped", caps=[
        {"id": "CAP-RED", "name": {"en": "Red"}, "when": 'e == "RED"', "value": "params.red_cap"},
        {"id": "CAP-NOFLAG", "name": {"en": "No flag"}, "when": "missing(flag)", "value": "b * 10"},
    ])
    return make_policy(tmp_path_factory.mktemp("conditional"), limit=limit,
                       parameters={"minimum_limit": 10000, "red_cap": 50000},
                       outputs=[{"name": "capped", "outcomes": ["REFER"]}])


@pytest.mark.parametrize("fields, limit, binding, caps", [
    ({"a": 80000, "e": "RED", "flag": True}, 50000, "CAP-RED", [50000, None]),
    ({"a": 80000, "e": "BLUE", "flag": True}, 80000, None, [None, None]),
    ({"a": 80000, "flag": True}, 80000, None, [None, None]),      # e missing: the cap is off
    ({"a": 80000, "b": 3000, "e": "BLUE"}, 30000, "CAP-NOFLAG", [None, 30000]),
    ({"a": 80000, "b": 3000, "e": "RED"}, 30000, "CAP-NOFLAG", [50000, 30000]),
])
def test_a_cap_applies_only_when_its_condition_holds(conditional, fields, limit, binding, caps):
    decision = run(conditional, **fields)
    assert (decision.outcome, decision.limit) == ("APPROVE", limit)
    trace = decision.trace.to_dict()["limit"]
    assert trace["binding_cap"] == binding and [c["value"] for c in trace["caps"]] == caps
    assert decision.trace.values["capped"] == limit          # the result, for outputs
    assert decision.outputs == {"capped": None}              # shown with REFER only


def test_the_limit_result_is_shown_with_the_outcomes_asked(tmp_path):
    limit = dict(LIMIT, result="indicative")
    rules = {"r": ruleset("r", [{"id": "SOFT", "when": "flag == true",
                                 "then": {"action": "REFER", "reason": "R1"}},
                                {"id": "KO", "when": "flag2 == true",
                                 "then": {"action": "DECLINE", "reason": "R2"}}])}
    policy = make_policy(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], limit=limit,
                         parameters={"minimum_limit": 10000, "cap_dev": 500000},
                         features={"region_cap": "params.cap_dev"},
                         outputs=[{"name": "indicative", "outcomes": ["REFER"]}])
    refer = run(policy, a=123456, flag=True)
    assert (refer.outcome, refer.limit, refer.outputs) == ("REFER", None, {"indicative": 123000})
    assert refer.to_dict()["outputs"] == {"indicative": 123000}
    decline = run(policy, a=123456, flag2=True)
    assert decline.outputs == {"indicative": None} and decline.to_dict()["outputs"] == {
        "indicative": None}
    assert run(policy, a=123456).outputs == {"indicative": None}
    missing = run(policy, flag=True)          # no base: no limit to show
    assert missing.outputs == {"indicative": None} and missing.trace.values["indicative"] is None
